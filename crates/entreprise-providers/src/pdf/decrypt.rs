//! The PDF standard security handler, revisions 2 and 3 (RC4, 40 to 128 bits), for
//! documents that open without a password: Qualibat's certificates are encrypted so
//! (an owner password only restricts printing or copying). The key comes from the
//! empty user password, checked against `/U` before any stream is read; other
//! handlers (AES, public keys) are not supported and leave the streams unreadable.

use std::borrow::Cow;

use md5::{Digest, Md5};

use super::objects::{after, integer, object, object_number, skip_blanks};

/// The padding every password is completed with (PDF 1.7, §7.6.3.3).
const PADDING: [u8; 32] = [
    0x28, 0xbf, 0x4e, 0x5e, 0x4e, 0x75, 0x8a, 0x41, 0x64, 0x00, 0x4e, 0x56, 0xff, 0xfa, 0x01, 0x08, 0x2e, 0x2e, 0x00,
    0xb6, 0xd0, 0x68, 0x3e, 0x80, 0x2f, 0x0c, 0xa9, 0xfe, 0x64, 0x53, 0x69, 0x7a,
];

/// How a document's streams are to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    Clear,
    /// RC4 with this file key.
    Rc4(Vec<u8>),
    /// Encrypted in a way we cannot open.
    Unsupported,
}

impl Security {
    /// The security of `bytes`, from its trailer's `/Encrypt` and `/ID`.
    pub fn of(bytes: &[u8]) -> Security {
        let Some(reference) = after(bytes, b"/Encrypt").and_then(object_number) else {
            return Security::Clear;
        };
        standard_key(bytes, reference).map_or(Security::Unsupported, Security::Rc4)
    }

    /// The stream of object `number`, `generation`, decrypted (a clear one is not copied).
    pub fn stream<'a>(&self, body: &'a [u8], number: u32, generation: u16) -> Option<Cow<'a, [u8]>> {
        match self {
            Security::Clear => Some(Cow::Borrowed(body)),
            Security::Rc4(key) => Some(Cow::Owned(rc4(&object_key(key, number, generation), body))),
            Security::Unsupported => None,
        }
    }
}

fn standard_key(bytes: &[u8], reference: u32) -> Option<Vec<u8>> {
    let dictionary = object(bytes, reference)?;
    let number = |name: &[u8]| after(dictionary, name).and_then(integer);
    let (version, revision) = (number(b"/V").unwrap_or(0), number(b"/R")?);
    if !(1..=2).contains(&version) || !(2..=3).contains(&revision) || after(dictionary, b"/Standard").is_none() {
        return None;
    }
    let length = if revision == 2 {
        40
    } else {
        number(b"/Length").unwrap_or(40)
    };
    let n = usize::try_from(length / 8).ok().filter(|n| (5..=16).contains(n))?;
    let owner = string(after(dictionary, b"/O")?)?;
    let user = string(after(dictionary, b"/U")?)?;
    let permissions = i32::try_from(number(b"/P")?).ok()?;
    let id = first_id(bytes)?;
    let mut hash = Md5::new();
    hash.update(PADDING);
    hash.update(owner.get(..32)?);
    hash.update(permissions.to_le_bytes());
    hash.update(&id);
    let mut digest = hash.finalize().to_vec();
    if revision == 3 {
        for _ in 0..50 {
            digest = Md5::digest(&digest[..n]).to_vec();
        }
    }
    let key = digest[..n].to_vec();
    (user_check(&key, revision, &id)[..] == user.get(..16)?[..]).then_some(key)
}

/// What `/U` holds when the user password is empty (algorithms 4 and 5), its first 16 bytes.
fn user_check(key: &[u8], revision: i64, id: &[u8]) -> Vec<u8> {
    if revision == 2 {
        return rc4(key, &PADDING)[..16].to_vec();
    }
    let mut hash = Md5::new();
    hash.update(PADDING);
    hash.update(id);
    let mut check = rc4(key, &hash.finalize());
    for round in 1..=19u8 {
        let round_key: Vec<u8> = key.iter().map(|b| b ^ round).collect();
        check = rc4(&round_key, &check);
    }
    check
}

fn object_key(key: &[u8], number: u32, generation: u16) -> Vec<u8> {
    let mut hash = Md5::new();
    hash.update(key);
    hash.update(&number.to_le_bytes()[..3]);
    hash.update(generation.to_le_bytes());
    hash.finalize()[..(key.len() + 5).min(16)].to_vec()
}

fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut state: Vec<u8> = (0..=255).collect();
    let mut j = 0u8;
    for i in 0..256 {
        j = j.wrapping_add(state[i]).wrapping_add(key[i % key.len()]);
        state.swap(i, usize::from(j));
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|byte| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(state[usize::from(i)]);
            state.swap(usize::from(i), usize::from(j));
            byte ^ state[usize::from(state[usize::from(i)].wrapping_add(state[usize::from(j)]))]
        })
        .collect()
}

/// A literal `( … )` or hex `< … >` string at the start of `bytes`.
fn string(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = skip_blanks(bytes);
    match text.first()? {
        b'(' => {
            let mut out = Vec::new();
            super::literal(text, 1, &mut out);
            Some(out)
        }
        b'<' => hex(&text[1..text.iter().position(|b| *b == b'>')?]),
        _ => None,
    }
}

fn hex(digits: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = digits.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            let text = if pair.len() == 1 {
                format!("{text}0")
            } else {
                text.to_string()
            };
            u8::from_str_radix(&text, 16).ok()
        })
        .collect()
}

/// The first string of the trailer's `/ID` array.
fn first_id(bytes: &[u8]) -> Option<Vec<u8>> {
    let array = skip_blanks(after(bytes, b"/ID")?);
    string(array.strip_prefix(b"[")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc4_matches_the_published_test_vectors() {
        // RFC 6229's first vector: key 0x0102030405, keystream from offset 0.
        let keystream = rc4(&[1, 2, 3, 4, 5], &[0; 16]);
        assert_eq!(keystream, hex(b"b2396305f03dc027ccc3524a0a1118a8").unwrap());
        assert_eq!(rc4(b"Key", b"Plaintext"), hex(b"bbf316e8d940af0ad3").unwrap());
    }

    #[test]
    fn documents_without_encryption_are_clear_and_foreign_handlers_unsupported() {
        assert_eq!(Security::of(b"%PDF-1.4\ntrailer << /Root 1 0 R >>"), Security::Clear);
        let aes = b"%PDF-1.6\n5 0 obj << /Filter /Standard /V 4 /R 4 /O (x) /U (y) /P -4 >> endobj\ntrailer << /Encrypt 5 0 R /ID [<00><00>] >>";
        assert_eq!(Security::of(aes), Security::Unsupported);
        assert_eq!(Security::Unsupported.stream(b"x", 1, 0), None);
    }
}
