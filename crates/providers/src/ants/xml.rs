//! The little XML the ANTS exchange needs: a tree of elements with namespaces
//! stripped (the SIV answer is read by local names, as the real gateway does), text
//! escaping for what we write, and rendering a JSON description of a dossier as XML
//! (for the simulator).

use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::Value;

/// An element: its local name, its own text (trimmed) and its children, in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

/// The document could not be read as XML.
#[derive(Debug, thiserror::Error)]
#[error("malformed XML: {0}")]
pub struct Malformed(String);

impl Node {
    /// Parses a document; its root element is returned.
    pub fn parse(document: &str) -> Result<Node, Malformed> {
        let mut reader = Reader::from_str(document);
        let mut stack: Vec<Node> = vec![Node::default()];
        loop {
            match reader.read_event().map_err(|e| Malformed(e.to_string()))? {
                Event::Start(start) => stack.push(Node {
                    name: local(start.local_name().as_ref()),
                    ..Node::default()
                }),
                Event::Empty(empty) => {
                    let node = Node {
                        name: local(empty.local_name().as_ref()),
                        ..Node::default()
                    };
                    stack.last_mut().expect("the stack keeps its root").children.push(node);
                }
                Event::End(_) => {
                    let mut node = stack.pop().expect("the reader checks tag balance");
                    node.text = node.text.trim().to_string();
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => return Err(Malformed("unbalanced end tag".into())),
                    }
                }
                Event::Text(text) => {
                    let text = text.unescape().map_err(|e| Malformed(e.to_string()))?;
                    stack.last_mut().expect("the stack keeps its root").text.push_str(&text);
                }
                Event::CData(data) => {
                    let text = String::from_utf8_lossy(&data.into_inner()).into_owned();
                    stack.last_mut().expect("the stack keeps its root").text.push_str(&text);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        let document = match stack.as_slice() {
            [document] => document,
            _ => return Err(Malformed("unclosed element".into())),
        };
        document
            .children
            .first()
            .cloned()
            .ok_or_else(|| Malformed("no root element".into()))
    }

    /// The first element named `name` below this one, depth first (`//name`).
    pub fn find(&self, name: &str) -> Option<&Node> {
        self.children.iter().find_map(|child| {
            if child.name == name {
                Some(child)
            } else {
                child.find(name)
            }
        })
    }

    /// The text of `//name`, when it has some.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.find(name).map(|n| n.text.as_str()).filter(|t| !t.is_empty())
    }

    /// The direct children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn local(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// Escapes character data as exclusive canonicalisation writes it, so that text we
/// sign reads back identical.
pub fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value as exclusive canonicalisation writes it.
pub fn attribute(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes a JSON object as elements with `prefix`: an object is an element with
/// children, an array repeats its element, a string or number is text, null is left out.
pub fn render(prefix: &str, name: &str, value: &Value, out: &mut String) {
    match value {
        Value::Null => {}
        Value::Array(items) => items.iter().for_each(|item| render(prefix, name, item, out)),
        Value::Object(fields) => {
            out.push_str(&format!("<{prefix}:{name}>"));
            for (key, field) in fields {
                render(prefix, key, field, out);
            }
            out.push_str(&format!("</{prefix}:{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{prefix}:{name}>{}</{prefix}:{name}>", text(s))),
        other => out.push_str(&format!("<{prefix}:{name}>{other}</{prefix}:{name}>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_with_namespaces_stripped() {
        let doc = r#"<?xml version="1.0"?><a:root xmlns:a="urn:x"><a:one> hi &amp; bye </a:one><a:two/><a:list><a:item>1</a:item><a:item>2</a:item></a:list></a:root>"#;
        let root = Node::parse(doc).unwrap();
        assert_eq!(root.name, "root");
        assert_eq!(root.text_of("one"), Some("hi & bye"));
        assert_eq!(root.text_of("two"), None);
        let list = root.find("list").unwrap();
        assert_eq!(
            list.children_named("item").map(|n| n.text.as_str()).collect::<Vec<_>>(),
            ["1", "2"]
        );
    }

    #[test]
    fn refuses_broken_documents() {
        assert!(Node::parse("<a><b></a>").is_err());
        assert!(Node::parse("<a><b>").is_err());
        assert!(Node::parse("not xml at all").is_err());
        assert!(Node::parse("").is_err());
    }

    #[test]
    fn render_reads_back() {
        let value = json!({"a": "x < y", "b": {"c": ["1", "2"]}, "d": null, "e": 3});
        let mut out = String::new();
        render("p", "root", &value, &mut out);
        assert_eq!(
            out,
            "<p:root><p:a>x &lt; y</p:a><p:b><p:c>1</p:c><p:c>2</p:c></p:b><p:e>3</p:e></p:root>"
        );
        let node = Node::parse(&out).unwrap();
        assert_eq!(node.text_of("a"), Some("x < y"));
        assert_eq!(node.find("b").unwrap().children_named("c").count(), 2);
    }

    #[test]
    fn escapes_as_canonical_xml() {
        assert_eq!(text("a&b<c>d\"e'"), "a&amp;b&lt;c&gt;d\"e'");
        assert_eq!(attribute("a&b<c>d\"e\n"), "a&amp;b&lt;c>d&quot;e&#xA;");
    }
}
