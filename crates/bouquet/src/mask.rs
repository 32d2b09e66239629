//! Data minimisation: remove every field the token's scopes do not open.

use serde_json::Value;

use crate::FieldMask;

/// Removes from `data` each masked field whose scopes the caller lacks (`holds`
/// says whether it has one). A removed field disappears (it is not set to null), as
/// the contract says.
pub fn apply(data: &mut Value, masks: &[FieldMask], holds: impl Fn(&str) -> bool) {
    for mask in masks {
        if !mask.scopes.iter().any(|s| holds(s)) {
            let segments: Vec<&str> = mask.path.split('.').collect();
            remove(data, &segments);
        }
    }
}

fn remove(value: &mut Value, segments: &[&str]) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    let (key, into_items) = match first.strip_suffix("[]") {
        Some(key) => (key, true),
        None => (*first, false),
    };
    let Some(object) = value.as_object_mut() else {
        return;
    };
    if rest.is_empty() && !into_items {
        object.remove(key);
        return;
    }
    let Some(child) = object.get_mut(key) else {
        return;
    };
    match (into_items, child) {
        (true, Value::Array(items)) => items.iter_mut().for_each(|item| remove(item, rest)),
        (false, child) => remove(child, rest),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_top_level_and_nested_fields() {
        let masks = [
            FieldMask {
                path: "a",
                scopes: &["sa"],
            },
            FieldMask {
                path: "items[].secret",
                scopes: &["ss"],
            },
            FieldMask {
                path: "obj.inner",
                scopes: &["si"],
            },
        ];
        let mut data = json!({"a": 1, "b": 2, "items": [{"secret": 1, "x": 1}, {"x": 2}], "obj": {"inner": 1, "k": 2}});
        apply(&mut data, &masks, |s| s == "sa");
        assert_eq!(
            data,
            json!({"a": 1, "b": 2, "items": [{"x": 1}, {"x": 2}], "obj": {"k": 2}})
        );
    }

    #[test]
    fn keeps_everything_with_all_scopes() {
        let masks = [FieldMask {
            path: "a",
            scopes: &["x", "y"],
        }];
        let mut data = json!({"a": 1});
        apply(&mut data, &masks, |s| s == "y");
        assert_eq!(data, json!({"a": 1}));
    }
}
