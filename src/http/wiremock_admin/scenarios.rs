//! `/__admin/scenarios…`: WireMock scenarios (the stubs that name one and its current state),
//! reset, and setting a state.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use super::reply::empty;
use super::stubs::stubs;
use crate::http::{AppState, wiremock_json as wj};

/// Every scenario some stub names, by name, with its stubs.
pub(super) fn scenarios(state: &AppState) -> Vec<wj::Scenario> {
    let mut out: Vec<wj::Scenario> = Vec::new();
    for stub in stubs(state) {
        let Some(name) = stub.json.get("scenarioName").and_then(Value::as_str) else {
            continue;
        };
        let at = match out.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                out.push(wj::Scenario {
                    id: name.to_owned(),
                    name: name.to_owned(),
                    state: state.store.named_states().get(&Arc::from(name)).get(),
                    possible_states: vec![crate::state::NAMED_INITIAL.to_owned()],
                    mappings: Vec::new(),
                });
                out.len() - 1
            }
        };
        let scenario = &mut out[at];
        for key in ["requiredScenarioState", "newScenarioState"] {
            if let Some(s) = stub.json.get(key).and_then(Value::as_str)
                && !scenario.possible_states.iter().any(|p| p == s)
            {
                scenario.possible_states.push(s.to_owned());
            }
        }
        scenario.mappings.push(stub.json);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `GET /__admin/scenarios`.
pub(super) async fn list_scenarios(state: web::Data<AppState>) -> HttpResponse {
    if let Err(down) = state.pull_states().await {
        return crate::http::respond::unavailable(&down);
    }
    HttpResponse::Ok().json(wj::Scenarios {
        scenarios: scenarios(&state),
    })
}

/// `POST /__admin/scenarios/reset`.
pub(super) async fn reset_scenarios(state: web::Data<AppState>) -> HttpResponse {
    match state.reset_states(false).await {
        Ok(()) => empty(),
        Err(down) => crate::http::respond::unavailable(&down),
    }
}

#[derive(Deserialize)]
struct StateBody {
    state: String,
}

/// `PUT /__admin/scenarios/{name}/state` with `{"state": "X"}`.
pub(super) async fn set_scenario_state(
    name: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(scenario) = scenarios(&state).into_iter().find(|s| s.name == *name) else {
        return HttpResponse::NotFound().json(wj::Errors::one(
            404,
            format!("Scenario {name} does not exist"),
        ));
    };
    let wanted = match serde_json::from_slice::<StateBody>(&body) {
        Ok(b) => b.state,
        Err(_) if body.iter().all(u8::is_ascii_whitespace) => {
            crate::state::NAMED_INITIAL.to_owned()
        }
        Err(err) => {
            return HttpResponse::UnprocessableEntity().json(wj::Errors::one(10, err.to_string()));
        }
    };
    state
        .store
        .named_states()
        .get(&Arc::from(scenario.name.as_str()))
        .set(&wanted);
    if let Some(shared) = &state.shared
        && let Err(down) = shared.set_named(&scenario.name, &wanted).await
    {
        return crate::http::respond::unavailable(&down);
    }
    empty()
}
