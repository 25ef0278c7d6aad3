//! Room for the attribute texts an evaluation builds from parts (`browser`, `operating_system`,
//! `billing_address`, `shipping_address`): a buffer the caller lends for the evaluation, usually
//! on its stack, so that those texts borrow from it like every other text of the set borrows from
//! the request, and an evaluation allocates nothing. A text that does not fit is allocated.

use std::fmt;

/// The parts of one text, joined in order ([`Scratch::join`]).
#[derive(Clone, Copy)]
pub struct Pieces<'p> {
    items: [&'p str; Pieces::MAX],
    n: usize,
}

impl<'p> Pieces<'p> {
    /// The most parts a text has (an address: six words and their separators).
    pub const MAX: usize = 12;

    pub const fn new() -> Self {
        Pieces {
            items: [""; Self::MAX],
            n: 0,
        }
    }

    /// Appends `s`; past [`Pieces::MAX`] parts it is dropped (no caller has that many).
    pub fn push(&mut self, s: &'p str) {
        debug_assert!(self.n < Self::MAX, "more pieces than a text has");
        if let Some(slot) = self.items.get_mut(self.n) {
            *slot = s;
            self.n += 1;
        }
    }

    pub fn as_slice(&self) -> &[&'p str] {
        &self.items[..self.n]
    }

    /// Bytes of the joined text.
    pub fn len(&self) -> usize {
        self.as_slice().iter().map(|p| p.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The joined text, allocated.
    pub fn concat(&self) -> String {
        self.as_slice().concat()
    }
}

impl Default for Pieces<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// A lent buffer that texts are cut from, each living as long as the loan.
pub struct Scratch<'a> {
    rest: &'a mut [u8],
}

impl<'a> Scratch<'a> {
    /// Texts cut from `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Scratch { rest: buf }
    }

    /// No room: every text is allocated.
    pub const fn none() -> Self {
        Scratch { rest: &mut [] }
    }

    /// Bytes left.
    pub fn room(&self) -> usize {
        self.rest.len()
    }

    /// `pieces` joined into the buffer; `None` when they do not fit in what is left.
    pub fn join(&mut self, pieces: &Pieces<'_>) -> Option<&'a str> {
        let n = pieces.len();
        if n > self.rest.len() {
            return None;
        }
        let (text, rest) = std::mem::take(&mut self.rest).split_at_mut(n);
        self.rest = rest;
        let mut at = 0;
        for p in pieces.as_slice() {
            text[at..at + p.len()].copy_from_slice(p.as_bytes());
            at += p.len();
        }
        let text: &'a [u8] = text;
        // Whole `&str`s were copied in, one after another: UTF-8 (checked anyway; a few ns).
        std::str::from_utf8(text).ok()
    }
}

impl Default for Scratch<'_> {
    fn default() -> Self {
        Self::none()
    }
}

/// A copy has no room of its own (the buffer is lent once); its texts are allocated.
impl Clone for Scratch<'_> {
    fn clone(&self) -> Self {
        Self::none()
    }
}

impl fmt::Debug for Scratch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scratch")
            .field("room", &self.rest.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces<'p>(parts: &[&'p str]) -> Pieces<'p> {
        let mut p = Pieces::new();
        for s in parts {
            p.push(s);
        }
        p
    }

    #[test]
    fn texts_are_cut_from_the_buffer_until_it_is_full() {
        let mut buf = [0u8; 20];
        let mut s = Scratch::new(&mut buf);
        let a = s.join(&pieces(&["Chrome", " ", "131", ".", "0"])).unwrap();
        let b = s.join(&pieces(&["iOS ", "17"])).unwrap();
        assert_eq!((a, b), ("Chrome 131.0", "iOS 17"));
        assert_eq!(s.room(), 2);
        assert_eq!(s.join(&pieces(&["abc"])), None, "does not fit");
        assert_eq!(s.join(&pieces(&["ü"])), Some("ü"));
        assert_eq!(s.room(), 0);
        assert_eq!(Scratch::none().join(&pieces(&["x"])), None);
        assert_eq!(s.join(&pieces(&[])), Some(""));
        assert_eq!(pieces(&["a", "bc"]).concat(), "abc");
    }
}
