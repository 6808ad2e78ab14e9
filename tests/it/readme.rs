//! The README's example is checked, not trusted: its Lua block runs through the binary.

use std::time::Duration;

use crate::common;

#[test]
fn readme_example_runs() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README.md");
    let start = readme.find("```lua\n").expect("a lua block in README.md") + "```lua\n".len();
    let len = readme[start..].find("```").expect("end of the lua block");
    let code = &readme[start..start + len];
    let out = common::run(&["-"], code, Duration::from_secs(10));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "echo: hello\n", "{out:?}");
}
