//! The upstream providers of API Entreprise, one folder each: the client implementing
//! `passerelle_bouquet::Provider`, the mapping to the public contract, and a simulator
//! speaking the upstream's own protocol with its data.

pub mod insee;
