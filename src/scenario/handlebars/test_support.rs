//! What the unit tests of the dialect share: a request and a one-line render.

use super::{HbsRequest, HbsTemplate};

pub(super) fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub(super) struct Req {
    pub(super) url: String,
    pub(super) path: String,
    pub(super) path_params: Vec<(String, String)>,
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: Vec<(String, String)>,
    pub(super) cookies: Vec<(String, String)>,
    pub(super) method: String,
    pub(super) body: String,
}

impl Req {
    pub(super) fn new() -> Req {
        Req {
            url: "/things/42/parts?id=1&id=2&name=bob".into(),
            path: "/things/42/parts".into(),
            path_params: Vec::new(),
            query: pairs(&[("id", "1"), ("id", "2"), ("name", "bob")]),
            headers: pairs(&[
                ("Content-Type", "application/json"),
                ("X-Multi", "a"),
                ("X-Multi", "b"),
            ]),
            cookies: pairs(&[("session", "abc")]),
            method: "POST".into(),
            body: r#"{"name":"Ann","items":[{"id":1,"tag":"a/b"},{"id":2,"tag":"c"}],"n":7,"o":{"k":"v","l":[1,2]}}"#.into(),
        }
    }
    pub(super) fn body(mut self, b: &str) -> Req {
        self.body = b.into();
        self
    }
    pub(super) fn as_req(&self) -> HbsRequest<'_> {
        HbsRequest {
            url: &self.url,
            path: &self.path,
            path_params: &self.path_params,
            query: &self.query,
            headers: &self.headers,
            cookies: &self.cookies,
            method: &self.method,
            body: &self.body,
            base_url: "http://127.0.0.1:8080",
        }
    }
}

pub(super) fn r_with(tpl: &str, req: &Req) -> String {
    let t = HbsTemplate::parse(tpl).unwrap_or_else(|e| panic!("{tpl}: {e}"));
    t.render(&req.as_req(), 1_000_000)
        .unwrap_or_else(|e| panic!("{tpl}: {e}"))
}

pub(super) fn r(tpl: &str) -> String {
    r_with(tpl, &Req::new())
}
