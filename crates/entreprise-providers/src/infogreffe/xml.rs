//! The little XML Infogreffe needs: a tree of elements read by local names (the
//! namespaces prefixes vary between answers), with attributes, and text escaping for
//! the envelope we write.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// An element: its local name, its attributes, its own text and its children.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    /// The element's own text nodes, joined (children's text excluded).
    pub text: String,
    pub children: Vec<Element>,
}

/// The document could not be read as XML (cut short, badly nested, bad escapes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed;

impl Element {
    /// Parses a whole document and returns its root element.
    pub fn parse(document: &[u8]) -> Result<Element, Malformed> {
        let mut reader = Reader::from_reader(document);
        let mut stack: Vec<Element> = vec![Element::default()];
        let mut buffer = Vec::new();
        loop {
            match reader.read_event_into(&mut buffer).map_err(|_| Malformed)? {
                Event::Start(start) => stack.push(opened(&start)?),
                Event::Empty(empty) => {
                    let element = opened(&empty)?;
                    stack.last_mut().ok_or(Malformed)?.children.push(element);
                }
                Event::End(_) => {
                    let element = stack.pop().ok_or(Malformed)?;
                    stack.last_mut().ok_or(Malformed)?.children.push(element);
                }
                Event::Text(text) => {
                    let text = text.unescape().map_err(|_| Malformed)?;
                    stack.last_mut().ok_or(Malformed)?.text.push_str(&text);
                }
                Event::CData(data) => {
                    let text = String::from_utf8(data.into_inner().into_owned()).map_err(|_| Malformed)?;
                    stack.last_mut().ok_or(Malformed)?.text.push_str(&text);
                }
                Event::Eof => break,
                _ => {}
            }
            buffer.clear();
        }
        // An element still open at the end: the body was cut short.
        match stack.pop() {
            Some(mut document) if stack.is_empty() && document.children.len() == 1 => {
                document.children.pop().ok_or(Malformed)
            }
            _ => Err(Malformed),
        }
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at the end of a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |element, name| element.child(name))
    }

    /// The first element named `name` below this one, depth first.
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.children
            .iter()
            .find_map(|c| if c.name == name { Some(c) } else { c.find(name) })
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

fn opened(start: &BytesStart<'_>) -> Result<Element, Malformed> {
    let name = std::str::from_utf8(start.local_name().as_ref())
        .map_err(|_| Malformed)?
        .to_string();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|_| Malformed)?;
        let key = std::str::from_utf8(attribute.key.local_name().as_ref())
            .map_err(|_| Malformed)?
            .to_string();
        let value = attribute.unescape_value().map_err(|_| Malformed)?.into_owned();
        attributes.push((key, value));
    }
    Ok(Element {
        name,
        attributes,
        ..Element::default()
    })
}

/// `value` made safe as XML text or attribute content.
pub fn escape(value: &str) -> String {
    quick_xml::escape::escape(value).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_attributes_and_text_are_read_by_local_name() {
        let root = Element::parse(b"<a:x xmlns:a='u'><y k='1 &amp; 2'>t&lt;</y><z/></a:x>").unwrap();
        assert_eq!(root.name, "x");
        let y = root.child("y").unwrap();
        assert_eq!(y.attribute("k"), Some("1 & 2"));
        assert_eq!(y.text, "t<");
        assert!(root.child("z").is_some());
    }

    #[test]
    fn cut_or_badly_nested_documents_are_malformed() {
        for bad in [&b""[..], b"<a><b></b>", b"<a></b>", b"<a>x &bad; </a>", b"<a/><b/>"] {
            assert_eq!(Element::parse(bad), Err(Malformed), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn escaping_covers_markup_characters() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
    }
}
