//! The read side of a connection as a plain type: what a reader asks for (`Request`) and the
//! buffer of received bytes that answers it (`ReadBuf`). No I/O, no Lua: stream.rs feeds it,
//! and the tests below pin its rules (delimiter search resuming where it stopped, compaction,
//! release of large idle buffers).

/// A drained read buffer larger than this is freed, so idle connections stay small.
const KEEP_CAPACITY: usize = 16 * 1024;

/// What a reader asks for.
#[derive(Debug, Clone)]
pub enum Request {
    /// Exactly this many bytes.
    Bytes(usize),
    /// Everything up to and including the first occurrence of this delimiter.
    Delim(Delim),
    /// The same, but at most this many bytes: a buffer that reaches the limit without the
    /// delimiter answers with the limit's worth (the decoder sees no delimiter at the end and
    /// reports the excess). What protocol heads are read with, so a peer cannot make the
    /// buffer grow without bound.
    Bounded(Delim, usize),
    /// A unit whose length its first bytes tell (a WebSocket frame): `size` looks at the
    /// buffered bytes and says the whole unit's length once it can (None: more bytes first).
    /// A length over the limit (or `usize::MAX` for a malformed start) answers with what is
    /// buffered, up to the limit: the decoder sees a short unit and reports why.
    Sized(fn(&[u8]) -> Option<usize>, usize),
}

/// A delimiter; the usual short ones ("\n", "\r\n") are kept inline, without an allocation
/// per read.
#[derive(Debug, Clone)]
pub enum Delim {
    Inline([u8; 16], u8),
    Heap(Vec<u8>),
}

impl Delim {
    /// Delimiters up to this length are kept inline.
    pub const INLINE: usize = 16;

    pub fn new(d: &[u8]) -> Delim {
        if d.len() <= Self::INLINE {
            let mut b = [0u8; Self::INLINE];
            b[..d.len()].copy_from_slice(d);
            Delim::Inline(b, d.len() as u8)
        } else {
            Delim::Heap(d.to_vec())
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Delim::Inline(b, n) => &b[..*n as usize],
            Delim::Heap(v) => v,
        }
    }
}

/// Bytes received and not yet read.
#[derive(Default)]
pub struct ReadBuf {
    /// `data[start..]` is unread; `data[..start]` was consumed and is dropped by `compact`
    /// or by the next `append` once everything was read.
    data: Vec<u8>,
    /// Where the unread bytes begin; `start <= data.len()` always.
    start: usize,
    /// For a delimiter search that found nothing: where the next search of the unread bytes
    /// begins (relative to `start`), so data arriving in small pieces is scanned once overall,
    /// not once per piece. Reset to 0 by a match, and by stream.rs when a new request starts.
    pub scanned: usize,
}

impl ReadBuf {
    pub fn len(&self) -> usize {
        self.data.len() - self.start
    }

    pub fn bytes(&self) -> &[u8] {
        &self.data[self.start..]
    }

    pub fn append(&mut self, b: &[u8]) {
        if self.start > 0 && self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
        }
        self.data.extend_from_slice(b);
    }

    /// How many bytes `req` takes, if the buffer can satisfy it now.
    pub fn satisfies(&mut self, req: &Request) -> Option<usize> {
        match req {
            Request::Bytes(n) => (self.len() >= *n).then_some(*n),
            Request::Delim(d) => self.find(d.bytes()),
            Request::Bounded(d, limit) => match self.find(d.bytes()) {
                Some(n) if n <= *limit => Some(n),
                Some(_) => Some(*limit),
                None => (self.len() >= *limit).then_some(*limit),
            },
            Request::Sized(size, limit) => match size(self.bytes()) {
                Some(n) if n <= *limit => (self.len() >= n).then_some(n),
                Some(_) => Some(self.len().min(*limit)),
                None => None,
            },
        }
    }

    /// The length up to and including `d`, searching from where the last search stopped.
    fn find(&mut self, d: &[u8]) -> Option<usize> {
        let from = self.scanned.min(self.len());
        match find_short(&self.bytes()[from..], d) {
            Some(i) => {
                self.scanned = 0;
                Some(from + i + d.len())
            }
            None => {
                // Next time, start where a delimiter could still begin.
                self.scanned = self.len().saturating_sub(d.len() - 1);
                None
            }
        }
    }

    pub fn take(&mut self, n: usize) -> &[u8] {
        let s = self.start;
        self.start += n;
        &self.data[s..s + n]
    }

    /// Releases memory once everything was read.
    pub fn compact(&mut self) {
        if self.start == self.data.len() {
            if self.data.capacity() > KEEP_CAPACITY {
                self.data = Vec::new();
            } else {
                self.data.clear();
            }
            self.start = 0;
        } else if self.start > self.data.len() / 2 && self.start > 4096 {
            self.data.drain(..self.start);
            self.start = 0;
        }
    }
}

/// Where `needle` first occurs in `hay`. Delimiters are a few bytes and usually found within
/// a few hundred (a line, an HTTP head): scanning for the first byte with `memchr` and
/// comparing the rest costs far less than building `memmem`'s searcher on every call.
fn find_short(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    let mut at = 0;
    while let Some(i) = memchr::memchr(first, &hay[at..]) {
        let pos = at + i;
        if hay.len() - pos < needle.len() {
            return None;
        }
        if &hay[pos + 1..pos + needle.len()] == rest {
            return Some(pos);
        }
        at = pos + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delim(d: &str) -> Request {
        Request::Delim(Delim::new(d.as_bytes()))
    }

    #[test]
    fn counts_are_answered_only_when_complete() {
        let mut b = ReadBuf::default();
        b.append(b"abc");
        assert_eq!(b.satisfies(&Request::Bytes(4)), None);
        b.append(b"d");
        assert_eq!(b.satisfies(&Request::Bytes(4)), Some(4));
        assert_eq!(b.take(4), b"abcd");
        assert_eq!(b.len(), 0);
    }

    #[test]
    fn a_delimiter_split_across_appends_is_found() {
        let mut b = ReadBuf::default();
        let req = delim("\r\n");
        b.append(b"GET / HTTP/1.1\r");
        assert_eq!(b.satisfies(&req), None);
        // The search resumes one byte before the end: the "\r" may start the delimiter.
        assert_eq!(b.scanned, 14);
        b.append(b"\nHost: x\r\n");
        assert_eq!(b.satisfies(&req), Some(16));
        assert_eq!(b.scanned, 0, "a match resets the search");
        assert_eq!(b.take(16), b"GET / HTTP/1.1\r\n");
        assert_eq!(b.satisfies(&req), Some(9));
    }

    #[test]
    fn the_search_is_linear_over_small_appends() {
        let mut b = ReadBuf::default();
        let req = delim("\n");
        for _ in 0..10_000 {
            b.append(b"x");
            assert_eq!(b.satisfies(&req), None);
            assert_eq!(
                b.scanned,
                b.len(),
                "nothing before this point is searched again"
            );
        }
        b.append(b"\n");
        assert_eq!(b.satisfies(&req), Some(10_001));
    }

    #[test]
    fn a_bounded_read_stops_at_its_limit() {
        let req = Request::Bounded(Delim::new(b"\r\n\r\n"), 16);
        let mut b = ReadBuf::default();
        b.append(b"GET / HTTP/1.1\r");
        assert_eq!(b.satisfies(&req), None, "under the limit, no end yet");
        b.append(b"\n\r\n");
        assert_eq!(b.satisfies(&req), Some(16), "the end lies past the limit");
        let mut b = ReadBuf::default();
        b.append(b"GET /\r\n\r\nnext");
        assert_eq!(b.satisfies(&req), Some(9), "the end within the limit");
        let mut b = ReadBuf::default();
        b.append(&[b'x'; 40]);
        assert_eq!(b.satisfies(&req), Some(16), "no end within the limit");
    }

    #[test]
    fn a_sized_unit_waits_for_its_length() {
        // A toy framing: the first byte is the length of what follows.
        fn size(b: &[u8]) -> Option<usize> {
            b.first().map(|&n| {
                if n == 0xff {
                    usize::MAX
                } else {
                    1 + n as usize
                }
            })
        }
        let req = Request::Sized(size, 10);
        let mut b = ReadBuf::default();
        assert_eq!(b.satisfies(&req), None, "nothing buffered");
        b.append(&[3, b'a']);
        assert_eq!(b.satisfies(&req), None, "2 of 4 bytes");
        b.append(b"bcnext");
        assert_eq!(b.satisfies(&req), Some(4));
        let mut b = ReadBuf::default();
        b.append(&[200, 1, 2]);
        assert_eq!(b.satisfies(&req), Some(3), "over the limit: what is there");
        let mut b = ReadBuf::default();
        b.append(&[0xff]);
        assert_eq!(b.satisfies(&req), Some(1), "malformed: what is there");
    }

    #[test]
    fn long_delimiters_live_on_the_heap() {
        let long = "-".repeat(Delim::INLINE + 1);
        assert!(matches!(Delim::new(long.as_bytes()), Delim::Heap(_)));
        assert!(matches!(Delim::new(b"\r\n"), Delim::Inline(..)));
        let mut b = ReadBuf::default();
        b.append(format!("body{long}rest").as_bytes());
        assert_eq!(b.satisfies(&delim(&long)), Some(4 + long.len()));
    }

    #[test]
    fn compaction_drops_what_was_read() {
        let mut b = ReadBuf::default();
        b.append(&[7u8; 10_000]);
        b.take(6_000);
        b.compact();
        assert_eq!(b.start, 0, "more than half consumed: moved to the front");
        assert_eq!(b.len(), 4_000);
        b.take(1_000);
        b.compact();
        assert_eq!(b.start, 1_000, "small consumed prefixes stay until later");
        assert_eq!(b.bytes().len(), 3_000);
    }

    #[test]
    fn a_large_drained_buffer_is_freed() {
        let mut b = ReadBuf::default();
        b.append(&vec![0u8; 4 * KEEP_CAPACITY]);
        b.take(4 * KEEP_CAPACITY);
        b.compact();
        assert_eq!(b.data.capacity(), 0);
        let mut small = ReadBuf::default();
        small.append(b"hello");
        small.take(5);
        small.compact();
        assert!(
            small.data.capacity() > 0,
            "a small buffer is kept for the next read"
        );
    }

    #[test]
    fn find_short_agrees_with_memmem() {
        let hays: [&[u8]; 6] = [
            b"",
            b"\r",
            b"a\r\nb\r\n\r\n",
            b"\r\r\n\r\n",
            b"xx\r\n\r",
            b"\r\n\r\n",
        ];
        for hay in hays {
            for needle in [&b"\r\n\r\n"[..], b"\r\n", b"\n", b"", b"xx\r"] {
                assert_eq!(
                    find_short(hay, needle),
                    memchr::memmem::find(hay, needle),
                    "{hay:?} {needle:?}"
                );
            }
        }
    }
}
