//! The ceiling understudy is measured against: a bare actix-web server that answers every
//! request (any method, any path) with the same small JSON body, and does nothing else.
//! `benches/load.py` runs it beside understudy and reports understudy's share of its rate.
//!
//! `benches/h2.py` runs it with `h2c` as a third argument: the same port then also speaks
//! HTTP/2 with prior knowledge (actix-web's own h2 dispatcher), the HTTP/2 ceiling.
//!
//! `cargo run --release --example ceiling -- [ADDR] [WORKERS] [h2c]` (default
//! `127.0.0.1:18080`, 1, HTTP/1.1 only).

use actix_web::{App, HttpResponse, HttpServer, http::header::ContentType, web};

static BODY: &str = r#"{"id":42,"name":"Ada"}"#;

async fn fixed() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(BODY)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18080".to_owned());
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(1);
    let h2c = args.next().as_deref() == Some("h2c");
    actix_web::rt::System::new().block_on(async move {
        let server =
            HttpServer::new(|| App::new().default_service(web::to(fixed))).workers(workers);
        let server = if h2c {
            server.bind_auto_h2c(&addr)?
        } else {
            server.bind(&addr)?
        };
        println!("listening on http://{addr}");
        server.run().await
    })
}
