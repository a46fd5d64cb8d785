//! A read buffer that consumes from the front without moving bytes on every take.

use memchr::memmem;

#[derive(Default)]
pub struct Buffer {
    data: Vec<u8>,
    start: usize,
    /// How far a delimiter search already looked, so a growing buffer is scanned once.
    scanned: usize,
}

impl Buffer {
    pub fn len(&self) -> usize {
        self.data.len() - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn extend(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.data.len() / 2 {
            self.data.drain(..self.start);
            self.start = 0;
        }
        self.data.extend_from_slice(bytes);
    }
    /// Removes and returns the first `n` bytes (all if fewer).
    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.len());
        let out = self.data[self.start..self.start + n].to_vec();
        self.start += n;
        self.scanned = 0;
        if self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
        }
        out
    }
    /// The length up to and including the first `delim`, if it is buffered.
    pub fn find(&mut self, delim: &[u8]) -> Option<usize> {
        let hay = &self.data[self.start..];
        let from = self.scanned.saturating_sub(delim.len().saturating_sub(1)).min(hay.len());
        match memmem::find(&hay[from..], delim) {
            Some(i) => Some(from + i + delim.len()),
            None => {
                self.scanned = hay.len();
                None
            }
        }
    }
}
