//! The request model: WireMock's `request.…` fields as the JSON context a template renders
//! against, and which of its paths are `ListOrSingle` lists or path objects.

use serde_json::{Map, Value as Json};

use super::HbsRequest;

pub(super) fn request_model(req: &HbsRequest<'_>) -> Json {
    let segments: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let path = if req.path_params.is_empty() {
        Json::Array(segments.iter().map(|s| Json::from(*s)).collect())
    } else {
        let mut m = Map::new();
        for (i, s) in segments.iter().enumerate() {
            m.insert(i.to_string(), Json::from(*s));
        }
        for (k, v) in req.path_params {
            m.insert(k.clone(), Json::from(v.as_str()));
        }
        Json::Object(m)
    };
    let multi = |pairs: &[(String, String)], lower: bool| {
        let mut m = Map::new();
        for (k, v) in pairs {
            let key = if lower {
                k.to_ascii_lowercase()
            } else {
                k.clone()
            };
            if let Json::Array(a) = m.entry(key).or_insert_with(|| Json::Array(Vec::new())) {
                a.push(Json::from(v.as_str()));
            }
        }
        Json::Object(m)
    };
    let (scheme, rest) = req
        .base_url
        .split_once("://")
        .unwrap_or(("http", req.base_url));
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => {
            (h, p.parse::<u64>().unwrap_or(0))
        }
        _ => (rest, if scheme == "https" { 443 } else { 80 }),
    };
    let mut r = Map::new();
    r.insert("url".into(), Json::from(req.url));
    r.insert("path".into(), path.clone());
    r.insert("pathSegments".into(), path);
    r.insert("query".into(), multi(req.query, false));
    r.insert("headers".into(), multi(req.headers, true));
    r.insert("cookies".into(), multi(req.cookies, false));
    r.insert("method".into(), Json::from(req.method));
    r.insert("body".into(), Json::from(req.body));
    r.insert("baseUrl".into(), Json::from(req.base_url));
    r.insert("scheme".into(), Json::from(scheme));
    r.insert("host".into(), Json::from(host));
    r.insert("port".into(), Json::from(port));
    let mut root = Map::new();
    root.insert("request".into(), Json::Object(r));
    Json::Object(root)
}

/// Whether `path` (absolute, from the root) names one of WireMock's `ListOrSingle` fields.
pub(super) fn is_list_or_single(path: &[String]) -> bool {
    path.len() == 3
        && path[0] == "request"
        && matches!(path[1].as_str(), "query" | "headers" | "cookies")
}

pub(super) fn is_path_object(path: &[String]) -> bool {
    path.len() == 2 && path[0] == "request" && (path[1] == "path" || path[1] == "pathSegments")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Req, pairs, r, r_with};

    #[test]
    fn request_model_fields() {
        assert_eq!(r("{{request.url}}"), "/things/42/parts?id=1&id=2&name=bob");
        assert_eq!(r("{{request.path}}"), "/things/42/parts");
        assert_eq!(r("{{request.path.[1]}}"), "42");
        assert_eq!(r("{{request.pathSegments.[2]}}"), "parts");
        assert_eq!(r("{{request.query.name}}"), "bob");
        assert_eq!(r("{{request.query.id}}"), "1");
        assert_eq!(r("{{request.query.id.[1]}}"), "2");
        assert_eq!(r("{{request.query.missing}}"), "");
        assert_eq!(r("{{request.headers.content-type}}"), "application/json");
        assert_eq!(r("{{request.headers.Content-Type}}"), "application/json");
        assert_eq!(r("{{request.headers.x-multi}}"), "a");
        assert_eq!(r("{{request.headers.X-Multi.[1]}}"), "b");
        assert_eq!(r("{{request.cookies.session}}"), "abc");
        assert_eq!(r("{{request.method}}"), "POST");
        assert_eq!(r("{{request.baseUrl}}"), "http://127.0.0.1:8080");
        assert_eq!(
            r("{{request.scheme}} {{request.host}} {{request.port}}"),
            "http 127.0.0.1 8080"
        );
        assert_eq!(r("{{{request.body}}}"), Req::new().body);
        assert_eq!(r("{{#each request.query.id}}[{{this}}]{{/each}}"), "[1][2]");
        assert_eq!(
            r("{{#each request.path}}<{{this}}>{{/each}}"),
            "<things><42><parts>"
        );
        assert_eq!(
            r("{{#with request}}{{path}} {{query.id}}{{/with}}"),
            "/things/42/parts 1"
        );
    }

    #[test]
    fn named_path_params() {
        let mut req = Req::new();
        req.path_params = pairs(&[("thingId", "42")]);
        assert_eq!(r_with("{{request.path.thingId}}", &req), "42");
        assert_eq!(
            r_with("{{request.path.[0]}}/{{request.path}}", &req),
            "things//things/42/parts"
        );
    }
}
