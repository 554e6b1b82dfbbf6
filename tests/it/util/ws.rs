//! WebSocket clients (tokio-tungstenite) whose every wait is bounded by [`HANG_GUARD`].

use futures_util::StreamExt as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response;

use super::HANG_GUARD;

/// A client WebSocket over plain TCP.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket (`request`: a `ws://` URL or a prepared request) → the stream and the
/// handshake response.
pub async fn ws_connect(request: impl IntoClientRequest + Unpin) -> (Ws, Response) {
    tokio::time::timeout(HANG_GUARD, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake within the hang guard")
        .expect("WebSocket handshake")
}

/// The next message.
pub async fn next_msg(ws: &mut Ws) -> Message {
    tokio::time::timeout(HANG_GUARD, ws.next())
        .await
        .expect("a WebSocket message within the hang guard")
        .expect("stream not ended")
        .expect("no WebSocket error")
}
