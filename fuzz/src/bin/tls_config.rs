//! afl target `tls_config`: the body is `silly::fuzzing::tls_config`, shared with the corpus replay test.
fn main() {
    afl::fuzz!(|data: &[u8]| silly::fuzzing::tls_config(data));
}
