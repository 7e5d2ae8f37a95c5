//! The knowledge-graph tools of npm's `@modelcontextprotocol/server-memory`,
//! as a sandboxed component. The graph lives in `/memory/memory.jsonl`, in
//! the original's format (one JSON object a line, `"type"` saying entity or
//! relation), so a graph the original wrote reads here and back. Every call
//! is a fresh instance: each tool reads the file, and those that change the
//! graph write a temporary file beside it and rename it over the old one, as
//! the original does, so an interrupted write never leaves half a graph.

wit_bindgen::generate!({ world: "memory", path: "wit", generate_all });

use std::fs;
use std::io::ErrorKind;

use moat::host::content::Body;
use serde::{Deserialize, Serialize};

struct Memory;

const DIR: &str = "/memory";
const FILE: &str = "/memory/memory.jsonl";

/// One line of the file, as the original writes it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Line {
    Entity {
        name: String,
        #[serde(rename = "entityType")]
        entity_type: String,
        observations: Vec<String>,
    },
    Relation {
        from: String,
        to: String,
        #[serde(rename = "relationType")]
        relation_type: String,
    },
    /// A line of another type: skipped, as the original skips it.
    #[serde(other)]
    Other,
}

/// The graph as JSON, for the resource: the original's field order and its
/// two-space indentation.
#[derive(Serialize)]
struct GraphJson<'a> {
    entities: Vec<EntityJson<'a>>,
    relations: Vec<RelationJson<'a>>,
}

#[derive(Serialize)]
struct EntityJson<'a> {
    name: &'a str,
    #[serde(rename = "entityType")]
    entity_type: &'a str,
    observations: &'a [String],
}

#[derive(Serialize)]
struct RelationJson<'a> {
    from: &'a str,
    to: &'a str,
    #[serde(rename = "relationType")]
    relation_type: &'a str,
}

fn explain(error: std::io::Error) -> String {
    match error.kind() {
        ErrorKind::NotFound => format!("no directory is granted at {DIR}: grant one to keep the graph in"),
        _ => format!("{FILE}: {error}"),
    }
}

fn load() -> Result<Graph, String> {
    let text = match fs::read_to_string(FILE) {
        Ok(text) => text,
        Err(error) if error.kind() == ErrorKind::NotFound && fs::metadata(DIR).is_ok() => String::new(),
        Err(error) => return Err(explain(error)),
    };
    let mut graph = Graph { entities: Vec::new(), relations: Vec::new() };
    for (number, line) in text.split('\n').enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        match serde_json::from_str::<Line>(line) {
            Ok(Line::Entity { name, entity_type, observations }) => {
                graph.entities.push(Entity { name, entity_type, observations })
            }
            Ok(Line::Relation { from, to, relation_type }) => {
                graph.relations.push(Relation { from, to, relation_type })
            }
            Ok(Line::Other) => {}
            Err(error) => return Err(format!("{FILE}, line {}: {error}", number + 1)),
        }
    }
    Ok(graph)
}

fn save(graph: &Graph) -> Result<(), String> {
    let entities = graph.entities.iter().map(|e| Line::Entity {
        name: e.name.clone(),
        entity_type: e.entity_type.clone(),
        observations: e.observations.clone(),
    });
    let relations = graph.relations.iter().map(|r| Line::Relation {
        from: r.from.clone(),
        to: r.to.clone(),
        relation_type: r.relation_type.clone(),
    });
    let lines: Vec<String> = entities
        .chain(relations)
        .map(|line| serde_json::to_string(&line).expect("a line serialises"))
        .collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let temporary = format!("{FILE}.{nanos:x}.tmp");
    let written = fs::write(&temporary, lines.join("\n")).and_then(|()| fs::rename(&temporary, FILE));
    if let Err(error) = written {
        let _ = fs::remove_file(&temporary);
        return Err(explain(error));
    }
    Ok(())
}

fn same_relation(a: &Relation, b: &Relation) -> bool {
    a.from == b.from && a.to == b.to && a.relation_type == b.relation_type
}

/// The entities kept, with every relation that touches one of them.
fn subgraph(graph: Graph, keep: impl Fn(&Entity) -> bool) -> Graph {
    let entities: Vec<Entity> = graph.entities.into_iter().filter(|e| keep(e)).collect();
    let named = |name: &str| entities.iter().any(|e| e.name == name);
    let relations = graph.relations.into_iter().filter(|r| named(&r.from) || named(&r.to)).collect();
    Graph { entities, relations }
}

fn outcome(message: &str) -> Outcome {
    Outcome { success: true, message: message.to_string() }
}

impl Guest for Memory {
    fn create_entities(entities: Vec<Entity>) -> Result<CreatedEntities, String> {
        let mut graph = load()?;
        let new: Vec<Entity> = entities
            .into_iter()
            .filter(|e| !graph.entities.iter().any(|existing| existing.name == e.name))
            .collect();
        graph.entities.extend(new.iter().cloned());
        save(&graph)?;
        Ok(CreatedEntities { entities: new })
    }

    fn create_relations(relations: Vec<Relation>) -> Result<CreatedRelations, String> {
        let mut graph = load()?;
        let new: Vec<Relation> = relations
            .into_iter()
            .filter(|r| !graph.relations.iter().any(|existing| same_relation(existing, r)))
            .collect();
        graph.relations.extend(new.iter().cloned());
        save(&graph)?;
        Ok(CreatedRelations { relations: new })
    }

    fn add_observations(observations: Vec<ObservationAddition>) -> Result<AddedObservations, String> {
        let mut graph = load()?;
        let mut results = Vec::new();
        for addition in observations {
            let Some(entity) = graph.entities.iter_mut().find(|e| e.name == addition.entity_name) else {
                return Err(format!("Entity with name {} not found", addition.entity_name));
            };
            let added: Vec<String> =
                addition.contents.into_iter().filter(|c| !entity.observations.contains(c)).collect();
            entity.observations.extend(added.iter().cloned());
            results.push(AddedObservation { entity_name: addition.entity_name, added_observations: added });
        }
        save(&graph)?;
        Ok(AddedObservations { results })
    }

    fn delete_entities(entity_names: Vec<String>) -> Result<Outcome, String> {
        let mut graph = load()?;
        graph.entities.retain(|e| !entity_names.contains(&e.name));
        graph.relations.retain(|r| !entity_names.contains(&r.from) && !entity_names.contains(&r.to));
        save(&graph)?;
        Ok(outcome("Entities deleted successfully"))
    }

    fn delete_observations(deletions: Vec<ObservationDeletion>) -> Result<Outcome, String> {
        let mut graph = load()?;
        for deletion in deletions {
            if let Some(entity) = graph.entities.iter_mut().find(|e| e.name == deletion.entity_name) {
                entity.observations.retain(|o| !deletion.observations.contains(o));
            }
        }
        save(&graph)?;
        Ok(outcome("Observations deleted successfully"))
    }

    fn delete_relations(relations: Vec<Relation>) -> Result<Outcome, String> {
        let mut graph = load()?;
        graph.relations.retain(|r| !relations.iter().any(|gone| same_relation(r, gone)));
        save(&graph)?;
        Ok(outcome("Relations deleted successfully"))
    }

    fn read_graph() -> Result<Graph, String> {
        load()
    }

    fn search_nodes(query: String) -> Result<Graph, String> {
        let query = query.to_lowercase();
        let matches = |text: &str| text.to_lowercase().contains(&query);
        Ok(subgraph(load()?, |e| {
            matches(&e.name) || matches(&e.entity_type) || e.observations.iter().any(|o| matches(o))
        }))
    }

    fn open_nodes(names: Vec<String>) -> Result<Graph, String> {
        Ok(subgraph(load()?, |e| names.contains(&e.name)))
    }

    fn knowledge_graph() -> Result<ResourceContents, String> {
        let graph = load()?;
        let json = GraphJson {
            entities: graph
                .entities
                .iter()
                .map(|e| EntityJson {
                    name: &e.name,
                    entity_type: &e.entity_type,
                    observations: &e.observations,
                })
                .collect(),
            relations: graph
                .relations
                .iter()
                .map(|r| RelationJson { from: &r.from, to: &r.to, relation_type: &r.relation_type })
                .collect(),
        };
        Ok(ResourceContents {
            uri: "memory://knowledge-graph".into(),
            mime_type: Some("application/json".into()),
            body: Body::Text(serde_json::to_string_pretty(&json).expect("the graph serialises")),
        })
    }
}

export!(Memory);
