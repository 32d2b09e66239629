//! The page tree: the content streams of each page, in reading order (files often
//! store a later page's content first).

use super::objects::{after, object, object_number, skip_blanks};

/// Deeper trees are not followed (a loop, or a hostile file).
const MAX_DEPTH: usize = 16;

/// For each page in order, the numbers of its content streams; empty when the tree
/// cannot be read.
pub fn page_contents(bytes: &[u8]) -> Vec<Vec<u32>> {
    let root = after(bytes, b"/Root").and_then(object_number);
    let pages = root
        .and_then(|root| object(bytes, root))
        .and_then(|catalog| after(catalog, b"/Pages"))
        .and_then(object_number);
    let mut found = Vec::new();
    if let Some(pages) = pages {
        walk(bytes, pages, 0, &mut found);
    }
    found
}

fn walk(bytes: &[u8], node: u32, depth: usize, found: &mut Vec<Vec<u32>>) {
    let Some(dictionary) = object(bytes, node).filter(|_| depth < MAX_DEPTH) else {
        return;
    };
    match after(dictionary, b"/Kids") {
        Some(kids) => {
            for kid in references(kids) {
                walk(bytes, kid, depth + 1, found);
            }
        }
        None => found.push(after(dictionary, b"/Contents").map(references).unwrap_or_default()),
    }
}

/// `n 0 R`, or each of `[n 0 R m 0 R …]`.
fn references(value: &[u8]) -> Vec<u32> {
    let value = skip_blanks(value);
    let text = match value.strip_prefix(b"[") {
        Some(array) => &array[..array.iter().position(|b| *b == b']').unwrap_or(array.len())],
        None => &value[..value.iter().position(|b| *b == b'R').map_or(0, |r| r + 1)],
    };
    let words: Vec<&[u8]> = text
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(3)
        .filter(|w| w[2] == b"R")
        .filter_map(|w| std::str::from_utf8(w[0]).ok()?.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_come_in_the_trees_order_whatever_the_files() {
        let document = b"%PDF-1.4\n\
            1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
            2 0 obj << /Type /Pages /Kids [4 0 R 3 0 R] /Count 2 >> endobj\n\
            3 0 obj << /Type /Page /Contents [7 0 R 8 0 R] >> endobj\n\
            4 0 obj << /Type /Page /Contents 6 0 R >> endobj\n\
            trailer << /Root 1 0 R >>";
        assert_eq!(page_contents(document), [vec![6], vec![7, 8]]);
    }

    #[test]
    fn loops_and_broken_trees_give_nothing_or_stop() {
        let looped =
            b"1 0 obj << /Pages 2 0 R >> endobj\n2 0 obj << /Kids [2 0 R] >> endobj\ntrailer << /Root 1 0 R >>";
        assert!(page_contents(looped).is_empty());
        assert!(page_contents(b"trailer << /Root 9 0 R >>").is_empty());
        assert!(page_contents(b"").is_empty());
    }
}
