//! Lexer for one rule line: attributes, metadata keys (spaces and namespaces included), saved
//! lists, strings with their escapes, numbers, words and operators, each with its byte span.

use super::ast::{CmpOp, Span};

/// A mistake in a rule line: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub span: (usize, usize),
    pub message: String,
}

impl SyntaxError {
    pub(super) fn at(span: Span, message: impl Into<String>) -> Self {
        Self {
            span: (span.start, span.end),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Attr(String),
    Meta(String),
    SavedList(String),
    /// The string's value, and its text between the quotes as written.
    Str(String, String),
    Num(f64),
    Word(String),
    LParen,
    RParen,
    Comma,
    Op(CmpOp),
    AndSym,
    OrSym,
    Bang,
    Eof,
}

impl Tok {
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Attr(a) => format!("attribute `:{a}:`"),
            Tok::Meta(k) => format!("metadata `::{k}::`"),
            Tok::SavedList(a) => format!("list `@{a}`"),
            Tok::Str(..) => "a string".into(),
            Tok::Num(_) => "a number".into(),
            Tok::Word(w) => format!("`{w}`"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Op(op) => format!("`{}`", op.as_str()),
            Tok::AndSym => "`&&`".into(),
            Tok::OrSym => "`||`".into(),
            Tok::Bang => "`!`".into(),
            Tok::Eof => "the end of the rule".into(),
        }
    }

    pub(super) fn is_word(&self, w: &str) -> bool {
        matches!(self, Tok::Word(x) if x.eq_ignore_ascii_case(w))
    }
}

pub(super) fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `line[from..]` into tokens; spans are byte offsets in `line`. A `#` outside a string ends
/// the line.
pub(super) fn lex(line: &str, from: usize) -> Result<Vec<(Tok, Span)>, SyntaxError> {
    let b = line.as_bytes();
    let mut i = from;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            break;
        }
        let tok = match c {
            b':' if b.get(i + 1) == Some(&b':') => {
                let (key, end) = lex_metadata_key(line, i)?;
                i = end;
                Tok::Meta(key)
            }
            b':' => {
                let mut j = i + 1;
                while j < b.len() && is_name_byte(b[j]) {
                    j += 1;
                }
                if j == i + 1 || b.get(j) != Some(&b':') {
                    return Err(SyntaxError::at(
                        Span::new(start, j.max(i + 1)),
                        "expected an attribute written `:name:`",
                    ));
                }
                i = j + 1;
                Tok::Attr(line[start + 1..j].to_owned())
            }
            b'@' => {
                let mut j = i + 1;
                while j < b.len() && (is_name_byte(b[j]) || b[j] == b'-' || b[j] == b'.') {
                    j += 1;
                }
                if j == i + 1 {
                    return Err(SyntaxError::at(
                        Span::new(start, i + 1),
                        "expected a list alias after `@`",
                    ));
                }
                i = j;
                Tok::SavedList(line[start + 1..j].to_owned())
            }
            b'\'' | b'"' => {
                let (value, raw, end) = lex_string(line, i)?;
                i = end;
                Tok::Str(value, raw)
            }
            b'0'..=b'9' | b'-' | b'.' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                    j += 1;
                }
                let text = &line[i..j];
                let n: f64 = text.parse().map_err(|_| {
                    SyntaxError::at(
                        Span::new(start, j),
                        format!("expected a number, found `{text}`"),
                    )
                })?;
                i = j;
                Tok::Num(n)
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'=' => {
                i += if b.get(i + 1) == Some(&b'=') { 2 } else { 1 };
                Tok::Op(CmpOp::Eq)
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op(CmpOp::Ne)
            }
            b'!' => {
                i += 1;
                Tok::Bang
            }
            b'<' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op(CmpOp::Le)
            }
            b'<' if b.get(i + 1) == Some(&b'>') => {
                i += 2;
                Tok::Op(CmpOp::Ne)
            }
            b'<' => {
                i += 1;
                Tok::Op(CmpOp::Lt)
            }
            b'>' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Op(CmpOp::Ge)
            }
            b'>' => {
                i += 1;
                Tok::Op(CmpOp::Gt)
            }
            b'&' if b.get(i + 1) == Some(&b'&') => {
                i += 2;
                Tok::AndSym
            }
            b'|' if b.get(i + 1) == Some(&b'|') => {
                i += 2;
                Tok::OrSym
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i + 1;
                while j < b.len() && is_name_byte(b[j]) {
                    j += 1;
                }
                i = j;
                Tok::Word(line[start..j].to_owned())
            }
            _ => {
                let ch = line[i..].chars().next().unwrap_or('?');
                let hint = if matches!(ch, '\u{2018}' | '\u{2019}' | '\u{201C}' | '\u{201D}') {
                    " (a typographic quote: write strings in straight single quotes, 'like this')"
                } else {
                    ""
                };
                return Err(SyntaxError::at(
                    Span::new(start, i + ch.len_utf8()),
                    format!("unexpected character `{ch}`{hint}"),
                ));
            }
        };
        out.push((tok, Span::new(start, i)));
    }
    let end = line.len();
    out.push((Tok::Eof, Span::new(end, end)));
    Ok(out)
}

/// Reads the metadata key of `::key::` starting at `at` (the first `:`): everything up to the next
/// `::`, spaces and single colons included. Returns the key as written and the offset after it.
fn lex_metadata_key(line: &str, at: usize) -> Result<(String, usize), SyntaxError> {
    let rest = &line[at + 2..];
    let Some(end) = rest.find("::") else {
        let hint = if rest.trim_start().starts_with("account:") {
            " (an account rule from Radar for Platforms is printed this way; in a payment rule write `::account:key::`)"
        } else {
            ""
        };
        return Err(SyntaxError::at(
            Span::new(at, line.len()),
            format!("unterminated metadata key: expected `::` after the key{hint}"),
        ));
    };
    let key = &rest[..end];
    if key.trim().is_empty() {
        return Err(SyntaxError::at(
            Span::new(at, at + 4 + end),
            "expected a metadata key between `::` and `::`",
        ));
    }
    Ok((key.to_owned(), at + 4 + end))
}

/// Reads the string starting with the quote at `at`: its value (escapes resolved), its text as it
/// would be written between single quotes with its escapes kept (for LIKE patterns: `\\%` stays),
/// and the offset after the closing quote.
fn lex_string(line: &str, at: usize) -> Result<(String, String, usize), SyntaxError> {
    let quote = char::from(line.as_bytes()[at]);
    let mut value = String::new();
    let mut raw = String::new();
    let mut j = at + 1;
    loop {
        let Some(ch) = line[j..].chars().next() else {
            return Err(SyntaxError::at(
                Span::new(at, line.len()),
                "unterminated string: expected a closing quote",
            ));
        };
        j += ch.len_utf8();
        if ch == quote {
            break;
        }
        if ch == '\\' {
            let Some(esc) = line[j..].chars().next() else {
                continue;
            };
            j += esc.len_utf8();
            value.push(esc);
            if esc != '"' {
                raw.push('\\');
            }
            raw.push(esc);
        } else {
            value.push(ch);
            if ch == '\'' {
                // Inside double quotes: escaped in the single-quoted form.
                raw.push('\\');
            }
            raw.push(ch);
        }
    }
    Ok((value, raw, j))
}
