//! The command line (docs/cli.md): clap's raw flags, turned into a checked `Config`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::log::Level;

#[derive(Parser, Debug)]
#[command(
    name = "silly",
    about = "A Lua 5.5 runtime for network services",
    override_usage = "silly [OPTIONS] [SCRIPT [ARGS]...]",
    after_help = "With no SCRIPT: a REPL when stdin is a terminal, otherwise the script is read from stdin.\n\
                  Words of the form --key=value after SCRIPT are also stored in silly.env.",
    disable_version_flag = true
)]
struct Args {
    /// Run CODE before the script (may be repeated)
    #[arg(short = 'e', value_name = "CODE")]
    exec: Vec<String>,
    /// Enter the REPL after running the script
    #[arg(short = 'i')]
    interactive: bool,
    /// Initial log level
    #[arg(short = 'l', long = "log-level", value_enum, value_name = "LEVEL")]
    log_level: Option<LogLevel>,
    /// Write log records to FILE instead of stderr (reopened on SIGUSR1)
    #[arg(long = "log-path", value_name = "FILE")]
    log_path: Option<PathBuf>,
    /// Add a directory or a pattern (with '?') to package.path (may be repeated)
    #[arg(short = 'L', long = "lualib-path", value_name = "PATH")]
    lualib_path: Vec<String>,
    /// Add a directory or a pattern (with '?') to package.cpath (may be repeated)
    #[arg(short = 'C', long = "lualib-cpath", value_name = "PATH")]
    lualib_cpath: Vec<String>,
    /// Limit the memory of Lua to SIZE bytes (suffix K, M or G: 512K, 64M, 1G)
    #[arg(long = "max-memory", value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<usize>,
    /// Print the versions of silly, Lua and rustls
    #[arg(short = 'v', long = "version")]
    version: bool,
    /// Write LuaLS definition files of the silly.* modules and a .luarc.json into DIR, and exit
    #[arg(long = "types", value_name = "DIR")]
    types: Option<PathBuf>,
    /// Write the C headers of the embedded Lua (lua.h, luaconf.h, ...) into DIR, and exit
    #[arg(long = "headers", value_name = "DIR")]
    headers: Option<PathBuf>,
    /// The script to run ('-' reads it from stdin), then its arguments
    #[arg(
        value_name = "SCRIPT",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    script: Vec<String>,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// Where the main chunk comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    File(PathBuf),
    Stdin,
    /// Only `-e` chunks, or only the REPL.
    None,
}

#[derive(Debug)]
pub struct Config {
    pub script: Script,
    /// The script's arguments (`arg[1..]`, `...`).
    pub args: Vec<String>,
    pub exec: Vec<String>,
    /// Run the REPL after the script / `-e` chunks.
    pub repl: bool,
    pub log_level: Level,
    pub log_path: Option<PathBuf>,
    pub lualib_path: Vec<String>,
    pub lualib_cpath: Vec<String>,
    pub show_version: bool,
    /// `--types DIR`: write the editor definitions instead of running anything.
    pub types_dir: Option<PathBuf>,
    /// `--headers DIR`: write the Lua C headers instead of running anything.
    pub headers_dir: Option<PathBuf>,
    /// The most bytes the Lua state may hold (`--max-memory`); None: no limit.
    pub max_memory: Option<usize>,
}

/// A `--max-memory` value: bytes, or a number with K, M or G (powers of 1024) after it.
fn parse_size(s: &str) -> Result<usize, String> {
    let (digits, shift) = match s.as_bytes().last().map(u8::to_ascii_uppercase) {
        Some(b'K') => (&s[..s.len() - 1], 10),
        Some(b'M') => (&s[..s.len() - 1], 20),
        Some(b'G') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n: usize = digits
        .parse()
        .ok()
        .filter(|_| digits.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("'{s}' is not a size (bytes, or a number with K, M or G)"))?;
    match n.checked_mul(1 << shift) {
        Some(0) => Err("the size must be more than 0".to_string()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("'{s}' is too large")),
    }
}

/// Parses the command line. On error or `--help`, clap's message and exit code (2 for errors).
pub fn parse() -> Result<Config, clap::Error> {
    let a = Args::try_parse()?;
    // The script word accepts hyphens only so that its arguments can; an option-looking first
    // word is an option clap did not know.
    if let Some(first) = a
        .script
        .first()
        .filter(|w| w.starts_with('-') && w.as_str() != "-")
    {
        use clap::CommandFactory;
        return Err(Args::command().error(
            clap::error::ErrorKind::UnknownArgument,
            format!("unknown option '{first}' (a script's own options go after the script)"),
        ));
    }
    let mut words = a.script.into_iter();
    let script = match words.next() {
        Some(s) if s == "-" => Script::Stdin,
        Some(s) => Script::File(PathBuf::from(s)),
        // `-i` asks for the REPL, which then reads its entries from the pipe, as `lua -i` does.
        None if a.exec.is_empty() && !a.interactive && !std::io::stdin().is_terminal() => {
            Script::Stdin
        }
        None => Script::None,
    };
    let repl = a.interactive || (script == Script::None && a.exec.is_empty());
    Ok(Config {
        script,
        args: words.collect(),
        exec: a.exec,
        repl,
        log_level: match a.log_level {
            Some(LogLevel::Debug) => Level::Debug,
            Some(LogLevel::Info) | None => Level::Info,
            Some(LogLevel::Warn) => Level::Warn,
            Some(LogLevel::Error) => Level::Error,
        },
        log_path: a.log_path,
        lualib_path: a.lualib_path,
        lualib_cpath: a.lualib_cpath,
        show_version: a.version,
        types_dir: a.types,
        headers_dir: a.headers,
        max_memory: a.max_memory,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        for bad in ["", "M", "-1", "+5", "1.5M", "12T", "1 M", "0", "0K"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert!(parse_size("99999999999999999999G").is_err());
        assert!(parse_size(&format!("{}G", usize::MAX >> 20)).is_err());
    }
}
