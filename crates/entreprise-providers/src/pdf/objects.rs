//! Just enough of a PDF's object syntax to follow references: an object's body by
//! its number, a name's value, integers and `n 0 R` references.

/// The bytes after the last `name` of `bytes` (the trailer's entries come last).
pub(super) fn after<'a>(bytes: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let at = bytes.windows(name.len()).rposition(|w| w == name)?;
    Some(&bytes[at + name.len()..])
}

pub(super) fn integer(bytes: &[u8]) -> Option<i64> {
    let text = skip_blanks(bytes);
    let len = text
        .iter()
        .enumerate()
        .take_while(|(i, b)| b.is_ascii_digit() || (*i == 0 && **b == b'-'))
        .count();
    std::str::from_utf8(&text[..len]).ok()?.parse().ok()
}

pub(super) fn object_number(bytes: &[u8]) -> Option<u32> {
    u32::try_from(integer(bytes)?).ok()
}

pub(super) fn skip_blanks(bytes: &[u8]) -> &[u8] {
    let blanks = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[blanks..]
}

/// The dictionary of object `number` (up to its `endobj`).
pub(super) fn object(bytes: &[u8], number: u32) -> Option<&[u8]> {
    let header = format!("{number} 0 obj");
    let start = bytes
        .windows(header.len())
        .enumerate()
        .rfind(|(at, w)| *w == header.as_bytes() && (*at == 0 || bytes[at - 1].is_ascii_whitespace()))
        .map(|(at, _)| at)?;
    let body = &bytes[start + header.len()..];
    let end = body.windows(6).position(|w| w == b"endobj")?;
    Some(&body[..end])
}
