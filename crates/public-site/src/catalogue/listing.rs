//! `/catalogue`: every endpoint, grouped by provider, filtered by the search form.

use std::sync::Arc;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;

use super::entries::{self, Entry};
use super::search::{fold, Filters};
use crate::{page as render, Frame, Site};

#[derive(Template)]
#[template(path = "catalogue.html")]
struct ListingPage {
    frame: Frame,
    filters: Filters,
    providers: Vec<Choice>,
    use_cases: Vec<Choice>,
    groups: Vec<Group>,
    /// Endpoints shown.
    count: usize,
}

impl ListingPage {
    /// "3 points d'accès", for the heading and the page title.
    fn counted(&self) -> String {
        match self.count {
            0 => "Aucun point d'accès".to_string(),
            1 => "1 point d'accès".to_string(),
            n => format!("{n} points d'accès"),
        }
    }
}

/// An option of a select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// The endpoints of one provider.
struct Group {
    provider: String,
    entries: Vec<Entry>,
}

pub async fn page(State(site): State<Arc<Site>>, RawQuery(query): RawQuery) -> Response {
    let filters = Filters::from_query(query.as_deref());
    let all = entries::all(site.bouquet());
    let providers = provider_choices(&all, &filters);
    let use_cases = entries::use_cases(site.bouquet().name)
        .into_iter()
        .map(|u| Choice {
            selected: u.id == filters.cas,
            value: u.id,
            label: u.title,
        })
        .collect();
    let kept: Vec<Entry> = all.into_iter().filter(|e| filters.keeps(e)).collect();
    render(&ListingPage {
        frame: Frame::new(&site, "catalogue"),
        count: kept.len(),
        groups: groups(kept),
        providers,
        use_cases,
        filters,
    })
}

/// Each provider once, by name.
fn provider_choices(all: &[Entry], filters: &Filters) -> Vec<Choice> {
    let mut choices: Vec<Choice> = Vec::new();
    for entry in all {
        if !choices.iter().any(|c| c.value == entry.provider_id) {
            choices.push(Choice {
                value: entry.provider_id.to_string(),
                label: entry.provider.clone(),
                selected: entry.provider_id == filters.fournisseur,
            });
        }
    }
    choices.sort_by_key(|c| fold(&c.label));
    choices
}

/// The entries by provider, providers by name, entries in the catalogue's order.
fn groups(entries: Vec<Entry>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for entry in entries {
        match groups.iter_mut().find(|g| g.provider == entry.provider) {
            Some(group) => group.entries.push(entry),
            None => groups.push(Group {
                provider: entry.provider.clone(),
                entries: vec![entry],
            }),
        }
    }
    groups.sort_by_key(|g| fold(&g.provider));
    groups
}
