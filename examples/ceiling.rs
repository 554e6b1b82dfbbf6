//! The ceiling understudy is measured against: a bare actix-web server that answers every
//! request (any method, any path) with the same small JSON body, and does nothing else.
//! `benches/load.py` runs it beside understudy and reports understudy's share of its rate.
//!
//! `cargo run --release --example ceiling -- [ADDR] [WORKERS]` (default `127.0.0.1:18080`, 1).

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
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| App::new().default_service(web::to(fixed)))
            .workers(workers)
            .bind(&addr)?;
        println!("listening on http://{addr}");
        server.run().await
    })
}
