//! A plain text PDF: A4 pages of Helvetica lines, wrapped. Enough for a record a
//! citizen keeps or prints; written by hand because the one font every reader has
//! (the standard 14) needs no embedding and the layout is a list.

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const LEADING: f32 = 14.0;
const SIZE: f32 = 10.0;
const TITLE_SIZE: f32 = 14.0;
/// Helvetica at 10 pt averages about 5 pt a character: 495 pt of line.
const CHARS_PER_LINE: usize = 95;

/// One line of the document: a title or body text.
pub enum Text {
    Title(String),
    Body(String),
    Gap,
}

pub fn document(texts: &[Text]) -> Vec<u8> {
    let pages = paginate(texts);
    let mut pdf = Writer::default();
    let count = pages.len();
    // Objects: 1 catalog, 2 pages, 3 font, then a page and its content per page.
    let kids: Vec<String> = (0..count).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    pdf.object(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    pdf.object(format!("<< /Type /Pages /Kids [{}] /Count {count} >>", kids.join(" ")).into_bytes());
    pdf.object(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec());
    for (i, page) in pages.iter().enumerate() {
        let content = 5 + 2 * i;
        pdf.object(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {WIDTH} {HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {content} 0 R >>"
            )
            .into_bytes(),
        );
        let stream = page_stream(page);
        let mut body = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
        body.extend_from_slice(&stream);
        body.extend_from_slice(b"\nendstream");
        pdf.object(body);
    }
    pdf.finish()
}

/// Lines wrapped and cut into pages.
fn paginate(texts: &[Text]) -> Vec<Vec<(f32, String)>> {
    let per_page = ((HEIGHT - 2.0 * MARGIN) / LEADING) as usize;
    let mut lines: Vec<(f32, String)> = Vec::new();
    for text in texts {
        match text {
            Text::Title(t) => lines.push((TITLE_SIZE, t.clone())),
            Text::Body(t) => lines.extend(wrap(t).into_iter().map(|l| (SIZE, l))),
            Text::Gap => lines.push((SIZE, String::new())),
        }
    }
    if lines.is_empty() {
        lines.push((SIZE, String::new()));
    }
    lines.chunks(per_page).map(<[_]>::to_vec).collect()
}

fn wrap(text: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for word in text.split_whitespace() {
        let current = out.last_mut().expect("one line at least");
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > CHARS_PER_LINE {
            out.push(word.to_string());
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    out
}

fn page_stream(lines: &[(f32, String)]) -> Vec<u8> {
    let mut s = Vec::new();
    let mut y = HEIGHT - MARGIN;
    for (size, line) in lines {
        s.extend_from_slice(format!("BT /F1 {size} Tf {MARGIN} {y} Td (").as_bytes());
        s.extend(win_ansi(line));
        s.extend_from_slice(b") Tj ET\n");
        y -= LEADING;
    }
    s
}

/// The text in WinAnsi bytes, escaped for a PDF string; what it cannot show becomes `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let byte = match c {
            '\u{2019}' => 0x92,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{20AC}' => 0x80,
            '\u{a0}' | '\u{202f}' => b' ',
            c if (c as u32) < 0x20 => b' ',
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        };
        if matches!(byte, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out
}

#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
    offsets: Vec<usize>,
}

impl Writer {
    fn object(&mut self, body: Vec<u8>) {
        if self.bytes.is_empty() {
            self.bytes.extend_from_slice(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
        }
        self.offsets.push(self.bytes.len());
        self.bytes
            .extend_from_slice(format!("{} 0 obj\n", self.offsets.len()).as_bytes());
        self.bytes.extend_from_slice(&body);
        self.bytes.extend_from_slice(b"\nendobj\n");
    }

    fn finish(mut self) -> Vec<u8> {
        let xref = self.bytes.len();
        let count = self.offsets.len() + 1;
        let mut table = format!("xref\n0 {count}\n0000000000 65535 f \n");
        for offset in &self.offsets {
            table.push_str(&format!("{offset:010} 00000 n \n"));
        }
        table.push_str(&format!(
            "trailer\n<< /Size {count} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        ));
        self.bytes.extend_from_slice(table.as_bytes());
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_has_its_pages_its_text_and_a_true_cross_reference() {
        let mut texts = vec![Text::Title("Relevé — consultations".into())];
        for i in 0..120 {
            texts.push(Text::Body(format!(
                "Appel {i} : l'administration (SIRET 13002526500013) a demandé"
            )));
        }
        let pdf = document(&texts);
        assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/Count 3 "), "120 lines and a title fill three pages");
        assert!(text.contains("\\(SIRET 13002526500013\\)"));
        assert!(pdf.windows(6).any(|w| w == b"Relev\xe9"), "é is WinAnsi 0xE9");
        let xref: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(pdf[xref..].starts_with(b"xref"));
        let table = String::from_utf8_lossy(&pdf[xref..]).to_string();
        let first: usize = table.lines().nth(3).unwrap()[..10].parse().unwrap();
        assert!(pdf[first..].starts_with(b"1 0 obj"));
    }

    #[test]
    fn long_lines_wrap_at_words() {
        let lines = wrap(&"mot ".repeat(60));
        assert!(lines.len() == 3 && lines.iter().all(|l| l.chars().count() <= CHARS_PER_LINE));
    }
}
