//! What is sent: a letter with its recipients, independent of any transport.

/// A mailbox: a display name and an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Address {
    pub name: String,
    pub email: String,
}

impl Address {
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            email: email.into(),
        }
    }

    /// The address as compared between roles: case and surrounding spaces do not
    /// make two people.
    pub fn key(&self) -> String {
        self.email.trim().to_lowercase()
    }

    /// "Bonjour Camille Martin," or, without a name, "Bonjour,".
    pub fn greeting(&self) -> String {
        match self.name.trim() {
            "" => "Bonjour,".into(),
            name => format!("Bonjour {name},"),
        }
    }

    /// Whether both are the same mailbox.
    pub fn same_as(&self, other: &Address) -> bool {
        self.key() == other.key()
    }
}

/// One e-mail: recipients, subject, a plain-text body and optionally an HTML one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Letter {
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

impl Letter {
    /// The letter once per recipient, each to them alone: one refused address then
    /// loses no one else's letter, and each can be recorded on its own.
    pub fn each_recipient(&self) -> Vec<Letter> {
        let alone = |to: &Address| Letter {
            to: vec![to.clone()],
            cc: Vec::new(),
            ..self.clone()
        };
        self.recipients().map(alone).collect()
    }

    /// Every recipient, `to` first then `cc`.
    pub fn recipients(&self) -> impl Iterator<Item = &Address> {
        self.to.iter().chain(self.cc.iter())
    }
}
