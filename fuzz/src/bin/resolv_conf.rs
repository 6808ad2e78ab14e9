//! afl target `resolv_conf`: the body is `silly::fuzzing::resolv_conf`, shared with the corpus replay test.
fn main() {
    afl::fuzz!(|data: &[u8]| silly::fuzzing::resolv_conf(data));
}
