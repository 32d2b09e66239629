//! The visual lines of a page's content stream: each shown string is placed where the
//! text operators put it, strings on the same baseline (within 2 points) are one
//! line, read left to right, lines top to bottom. Qualibat's own certificates place
//! each glyph with its own `Td` and write labels and values in any order, so the
//! order of the stream says nothing; the page's geometry does.

use crate::pdf;

/// What separates the runs of one line (columns apart on the page).
pub const COLUMN: char = '\t';

/// Two strings whose baselines differ by less than this share a line.
const SAME_BASELINE: f64 = 2.0;

/// A run of text shown from one starting point.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    x: f64,
    y: f64,
    text: Vec<u8>,
}

/// Where text goes: the start of the current line, and the leading `T*` moves by.
#[derive(Default)]
struct Cursor {
    x: f64,
    y: f64,
    leading: f64,
    /// Whether something was shown since the last move (a glyph run continues).
    shown: bool,
}

/// The page's lines, blank ones dropped; each line's runs joined by [`COLUMN`].
pub fn lines(content: &[u8]) -> Vec<Vec<u8>> {
    let mut runs = runs(content);
    runs.sort_by(|a, b| b.y.total_cmp(&a.y));
    let mut lines: Vec<Vec<Run>> = Vec::new();
    for run in runs {
        match lines.last_mut() {
            Some(line) if (line[0].y - run.y).abs() < SAME_BASELINE => line.push(run),
            _ => lines.push(vec![run]),
        }
    }
    lines
        .into_iter()
        .map(|mut line| {
            line.sort_by(|a, b| a.x.total_cmp(&b.x));
            let words: Vec<&[u8]> = line
                .iter()
                .map(|r| r.text.trim_ascii())
                .filter(|t| !t.is_empty())
                .collect();
            words.join(&(COLUMN as u8))
        })
        .filter(|line| !line.is_empty())
        .collect()
}

/// The runs of text: glyphs placed one after the other on one baseline by sideways
/// moves are one run.
fn runs(content: &[u8]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut cursor = Cursor::default();
    let mut operands: Vec<Operand> = Vec::new();
    for token in Tokens::new(content) {
        let Token::Operator(operator) = token else {
            if let Token::Operand(operand) = token {
                operands.push(operand);
            }
            continue;
        };
        let numbers: Vec<f64> = operands.iter().filter_map(Operand::number).collect();
        match operator {
            b"BT" => {
                cursor = Cursor {
                    leading: cursor.leading,
                    ..Cursor::default()
                }
            }
            b"Td" | b"TD" => {
                if let [.., dx, dy] = numbers[..] {
                    if operator == b"TD" {
                        cursor.leading = -dy;
                    }
                    // A sideways step after a glyph continues its run.
                    cursor.shown = cursor.shown && dy == 0.0;
                    cursor.x += dx;
                    cursor.y += dy;
                }
            }
            b"Tm" => {
                if let [.., e, f] = numbers[..] {
                    (cursor.x, cursor.y, cursor.shown) = (e, f, false);
                }
            }
            b"TL" => cursor.leading = numbers.last().copied().unwrap_or(0.0),
            b"T*" => next_line(&mut cursor),
            b"Tj" | b"TJ" | b"'" | b"\"" => {
                if matches!(operator, b"'" | b"\"") {
                    next_line(&mut cursor);
                }
                let text: Vec<u8> = operands.iter().flat_map(Operand::text).collect();
                show(&mut runs, &mut cursor, text);
            }
            _ => {}
        }
        operands.clear();
    }
    runs
}

/// `T*`: down by the leading. With no leading set (0) the line stays, and so does the run.
fn next_line(cursor: &mut Cursor) {
    if cursor.leading != 0.0 {
        cursor.y -= cursor.leading;
        cursor.shown = false;
    }
}

fn show(runs: &mut Vec<Run>, cursor: &mut Cursor, text: Vec<u8>) {
    match runs.last_mut() {
        Some(run) if cursor.shown && run.y == cursor.y => run.text.extend(text),
        _ => runs.push(Run {
            x: cursor.x,
            y: cursor.y,
            text,
        }),
    }
    cursor.shown = true;
}

#[derive(Debug)]
enum Operand {
    Number(f64),
    Text(Vec<u8>),
    /// A `TJ` array: its strings (the kerning numbers dropped).
    Texts(Vec<Vec<u8>>),
    Other,
}

impl Operand {
    fn number(&self) -> Option<f64> {
        match self {
            Operand::Number(n) => Some(*n),
            _ => None,
        }
    }

    fn text(&self) -> Vec<u8> {
        match self {
            Operand::Text(t) => t.clone(),
            Operand::Texts(ts) => ts.concat(),
            _ => Vec::new(),
        }
    }
}

enum Token<'a> {
    Operand(Operand),
    Operator(&'a [u8]),
}

/// A content stream's tokens, enough for text: numbers, literal strings, arrays of
/// them, names and other operands skipped, operators.
struct Tokens<'a> {
    content: &'a [u8],
    at: usize,
}

impl<'a> Tokens<'a> {
    fn new(content: &'a [u8]) -> Self {
        Tokens { content, at: 0 }
    }

    fn literal(&mut self) -> Vec<u8> {
        let mut text = Vec::new();
        self.at = pdf::literal(self.content, self.at + 1, &mut text);
        text
    }

    fn word(&mut self) -> &'a [u8] {
        let start = self.at;
        while self
            .content
            .get(self.at)
            .is_some_and(|b| !b.is_ascii_whitespace() && !b"()<>[]{}/%".contains(b))
        {
            self.at += 1;
        }
        &self.content[start..self.at]
    }

    fn array(&mut self) -> Operand {
        self.at += 1;
        let mut texts = Vec::new();
        while let Some(&byte) = self.content.get(self.at) {
            match byte {
                b']' => {
                    self.at += 1;
                    break;
                }
                b'(' => texts.push(self.literal()),
                _ => self.at += 1,
            }
        }
        Operand::Texts(texts)
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            let byte = *self.content.get(self.at)?;
            match byte {
                b if b.is_ascii_whitespace() => self.at += 1,
                b'%' => {
                    while self.content.get(self.at).is_some_and(|b| *b != b'\n') {
                        self.at += 1;
                    }
                }
                b'(' => return Some(Token::Operand(Operand::Text(self.literal()))),
                b'[' => return Some(Token::Operand(self.array())),
                b'/' | b'<' | b'>' | b']' | b'{' | b'}' | b')' => {
                    self.at += 1;
                    if byte == b'/' {
                        self.word();
                    }
                    return Some(Token::Operand(Operand::Other));
                }
                // Not a blank nor a delimiter: a word of at least this byte.
                _ => {
                    let word = self.word();
                    let number = std::str::from_utf8(word).ok().and_then(|w| w.parse::<f64>().ok());
                    return Some(match number {
                        Some(n) => Token::Operand(Operand::Number(n)),
                        None => Token::Operator(word),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: Vec<Vec<u8>>) -> Vec<String> {
        lines
            .into_iter()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .collect()
    }

    #[test]
    fn glyphs_placed_one_by_one_make_a_run_and_a_baseline_makes_a_line() {
        let content = b"BT 480.72 723.45 Td (E)' 5.40 0 Td (D)' 5 0 Td (I)' ET\n\
            BT 524.88 723.57 Td (16/06/2023) Tj ET\n\
            BT 117.6 748.89 Td [(NUM) -20 (ERO)] TJ ET";
        assert_eq!(text(lines(content)), ["NUMERO", "EDI\t16/06/2023"]);
    }

    #[test]
    fn moves_down_and_leading_start_new_lines() {
        let content = b"BT 10 700 Td 12 TL (one) Tj T* (two) Tj 0 -12 Td (three) Tj 1 0 0 1 10 600 Tm (four) Tj ET";
        assert_eq!(text(lines(content)), ["one", "two", "three", "four"]);
    }

    #[test]
    fn anything_reads_without_panicking() {
        for content in [
            &b""[..],
            b"(",
            b"[",
            b"BT Td Tj",
            b") ] > /",
            b"1 2",
            b"(\\",
            b"BT 1 2 Td (x",
        ] {
            lines(content);
        }
    }
}
