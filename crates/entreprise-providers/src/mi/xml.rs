//! The association API's XML as a small tree: elements with their attributes, their
//! text and their children. Enough for one `<asso>` record; no namespaces.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    pub name: String,
    attributes: Vec<(String, String)>,
    text: String,
    pub children: Vec<Node>,
}

/// XML the parser rejects (unbalanced tags, bad escapes, bad encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Deeper than any real record: a guard against hostile nesting.
const MAX_DEPTH: usize = 64;

/// The root element, or `None` when the body holds no element at all.
pub fn parse(body: &[u8]) -> Result<Option<Node>, Malformed> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().map_err(|_| Malformed)? {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH || root.is_some() {
                    return Err(Malformed);
                }
                stack.push(element(&start)?);
            }
            Event::Empty(start) => close(&mut stack, &mut root, element(&start)?)?,
            Event::End(_) => {
                let node = stack.pop().ok_or(Malformed)?;
                close(&mut stack, &mut root, node)?;
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(|_| Malformed)?;
                append(&mut stack, &text)?;
            }
            Event::CData(data) => {
                let text = std::str::from_utf8(&data).map_err(|_| Malformed)?.to_string();
                append(&mut stack, &text)?;
            }
            Event::Eof if stack.is_empty() => return Ok(root),
            Event::Eof => return Err(Malformed),
            _ => {}
        }
    }
}

fn element(start: &BytesStart) -> Result<Node, Malformed> {
    let name = std::str::from_utf8(start.name().as_ref())
        .map_err(|_| Malformed)?
        .to_string();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|_| Malformed)?;
        let key = std::str::from_utf8(attribute.key.as_ref()).map_err(|_| Malformed)?;
        let value = attribute.unescape_value().map_err(|_| Malformed)?;
        attributes.push((key.to_string(), value.into_owned()));
    }
    Ok(Node {
        name,
        attributes,
        ..Node::default()
    })
}

fn close(stack: &mut [Node], root: &mut Option<Node>, node: Node) -> Result<(), Malformed> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None if root.is_none() => *root = Some(node),
        None => return Err(Malformed),
    }
    Ok(())
}

/// Text between elements; outside the root only blanks are allowed.
fn append(stack: &mut [Node], text: &str) -> Result<(), Malformed> {
    match stack.last_mut() {
        Some(node) => node.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(Malformed),
    }
    Ok(())
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at a `/`-separated path below this one.
    pub fn at(&self, path: &str) -> Option<&Node> {
        path.split('/').try_fold(self, |node, name| node.child(name))
    }

    /// The text at `path`, as sent, unless blank or absent.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.at(path).map(|n| n.text.as_str()).filter(|t| !t.trim().is_empty())
    }

    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every text below this element, joined: to search a marker in an error body.
    pub fn all_text(&self) -> String {
        let mut out = self.text.clone();
        for child in &self.children {
            out.push_str(&child.all_text());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_as_a_tree() {
        let root = parse(b"<?xml version=\"1.0\"?>\n<asso><a x=\"1\"> t&amp;u </a><b/><c><d>v</d></c></asso>")
            .unwrap()
            .unwrap();
        assert_eq!(root.name, "asso");
        assert_eq!(root.text("a"), Some(" t&u "));
        assert_eq!(root.child("a").unwrap().attribute("x"), Some("1"));
        assert_eq!(root.text("b"), None);
        assert_eq!(root.text("c/d"), Some("v"));
        assert_eq!(root.text("c/e"), None);
    }

    #[test]
    fn broken_or_empty_bodies_are_told_apart() {
        assert_eq!(parse(b""), Ok(None));
        assert_eq!(parse(b"   \n"), Ok(None));
        assert_eq!(parse(b"<asso><a></asso>"), Err(Malformed));
        assert_eq!(parse(b"<asso>"), Err(Malformed));
        assert_eq!(parse(b"{\"message\": \"Unauthorized\"}"), Err(Malformed));
        assert_eq!(parse(b"<a/><b/>"), Err(Malformed));
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(parse(deep.as_bytes()), Err(Malformed));
    }
}
