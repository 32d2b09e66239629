//! The citizen's record to keep: CSV (one call a line) or PDF.

use crate::describe::Line;
use crate::pdf::{self, Text};

const HEADER: [&str; 10] = [
    "date",
    "siret",
    "organisation",
    "projet",
    "demande",
    "donnees_possibles",
    "mode",
    "resultat",
    "reference",
    "contact_dpo",
];

pub fn csv(lines: &[Line]) -> anyhow::Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER)?;
    for line in lines {
        out.write_record([
            line.when.as_str(),
            &line.siret,
            line.organisation.as_deref().unwrap_or(""),
            line.project.as_deref().unwrap_or(""),
            &line.asked,
            &line.blocks.join(", "),
            line.how,
            line.outcome,
            &line.request_id,
            line.dpo.as_deref().unwrap_or(""),
        ])?;
    }
    Ok(out.into_inner()?)
}

pub fn pdf(name: &str, made_at: &str, lines: &[Line]) -> Vec<u8> {
    let mut texts = vec![
        Text::Title("Qui a consulté mes données ? — API Particulier".into()),
        Text::Body(format!("Relevé de {name}, établi le {made_at}.")),
        Text::Body(format!(
            "{} consultation(s) de vos données par des administrations. Le relevé indique qui a demandé quoi et ce qui en est résulté, jamais les données elles-mêmes.",
            lines.len()
        )),
        Text::Gap,
    ];
    for line in lines {
        texts.push(Text::Body(format!("{} — {}", line.when, line.asked)));
        texts.push(Text::Body(format!("Demandé par : {}", line.who())));
        if let Some(project) = &line.project {
            texts.push(Text::Body(format!("Démarche : {project}")));
        }
        if !line.blocks.is_empty() {
            texts.push(Text::Body(format!("Données possibles : {}", line.blocks.join(", "))));
        }
        texts.push(Text::Body(format!(
            "{}. {}. Référence {}",
            line.how, line.outcome, line.request_id
        )));
        if let Some(dpo) = &line.dpo {
            texts.push(Text::Body(format!(
                "Pour exercer vos droits : {dpo} (délégué à la protection des données)"
            )));
        }
        texts.push(Text::Gap);
    }
    pdf::document(&texts)
}
