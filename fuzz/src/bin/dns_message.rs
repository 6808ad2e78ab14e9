//! afl target `dns_message`: the body is `silly::fuzzing::dns_message`, shared with the corpus replay test.
fn main() {
    afl::fuzz!(|data: &[u8]| silly::fuzzing::dns_message(data));
}
