# understudy: HTTP test double serving JSON scenario files.
#
#   docker build -t understudy .
#   docker run --rm -p 8080:8080 -v "$PWD/scenarios:/scenarios" understudy
#
# Builds with the classic builder as well as BuildKit: no `# syntax=` line, no `RUN --mount`.
# See docs/docker.md for the measured size, start time, memory and stop time.

# --- Build stage -------------------------------------------------------------------------------
FROM rust:1-slim-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src

# A static binary, so the final image can be `FROM scratch` (no libc, no shell, nothing else).
#
# Static glibc rather than musl: the musl target is not always installable where this image is
# built (it needs `rustup target add`, i.e. network access to the Rust dist server), while the
# glibc target is in every Rust image. `-C target-feature=+crt-static` links glibc statically
# (a static-pie executable). The one thing static glibc cannot do in an empty image is name
# resolution through NSS (`getaddrinfo` loads NSS modules at run time, and scratch has none), so
# give `--bind` / UNDERSTUDY_BIND a literal IP address (the default 0.0.0.0:8080 is), not a host
# name such as `localhost`. understudy itself never resolves names when serving.
#
# The target is spelled out (`--target`, the builder's own host triple: x86_64-unknown-linux-gnu
# on amd64, aarch64-unknown-linux-gnu on arm64) so that RUSTFLAGS apply to understudy and its
# dependencies only, not to build scripts and proc-macros, which must stay dynamic.
ENV RUSTFLAGS="-C target-feature=+crt-static" \
    CARGO_TERM_COLOR=never

# Dependency layer: compile every dependency against the real Cargo.toml and Cargo.lock with a
# placeholder lib and main, so editing src/ only recompiles understudy itself. Only the
# `understudy` binary is built (`--bin`): examples/, benches/ and tests/ are not needed here,
# but cargo wants a file for each `[[bench]]` Cargo.toml declares, so those get empty ones.
COPY Cargo.toml Cargo.lock ./
RUN TARGET="$(rustc -vV | sed -n 's/^host: //p')" \
    && mkdir src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs benches/matching.rs benches/openapi.rs \
    && cargo build --release --locked --target "$TARGET" --bin understudy \
    && rm -rf src \
        "target/$TARGET/release/understudy" \
        "target/$TARGET/release/.fingerprint/understudy-"* \
        "target/$TARGET/release/deps/understudy-"* \
        "target/$TARGET/release/deps/libunderstudy-"*

# understudy itself, stripped and checked to be static (no ELF interpreter, no shared library
# needed: it must run in an image that has neither). /rootfs is the final image's file tree.
COPY src ./src
RUN TARGET="$(rustc -vV | sed -n 's/^host: //p')" \
    && cargo build --release --locked --target "$TARGET" --bin understudy \
    && mkdir -p /rootfs/etc /rootfs/tmp \
    && cp "target/$TARGET/release/understudy" /rootfs/understudy \
    && strip /rootfs/understudy \
    && if readelf -lW /rootfs/understudy | grep -q INTERP; then echo 'not static: has an ELF interpreter' >&2; exit 1; fi \
    && if readelf -dW /rootfs/understudy | grep -q NEEDED; then echo 'not static: needs shared libraries' >&2; exit 1; fi \
    && ldd /rootfs/understudy \
    && ls -l /rootfs/understudy \
    && /rootfs/understudy --version \
    && echo 'understudy:x:10001:10001:understudy:/nonexistent:/sbin/nologin' > /rootfs/etc/passwd \
    && echo 'understudy:x:10001:' > /rootfs/etc/group \
    && chmod 1777 /rootfs/tmp

# --- Runtime stage: the binary, the bundled scenarios, nothing else ----------------------------
FROM scratch
# /rootfs holds /understudy; /etc/passwd and /etc/group, which only name the numeric user below
# (for `ps` and friends); and an empty /tmp with mode 1777 like any /tmp (copying the parent
# directory keeps the mode; the classic builder would make a directly copied /tmp 0755). The
# temp dir must exist and be writable by whatever user the container runs as: `--tls-self-signed`
# writes its certificate to /tmp/understudy-self-signed.pem unless UNDERSTUDY_TLS_CERT_OUT
# (--tls-cert-out) names another path. With `docker run --read-only`, add `--tmpfs /tmp`.
COPY --from=build /rootfs/ /
# The bundled tour, served when nothing is mounted on /scenarios. Read-only for the container
# user (owned by root): a mounted directory needs to be readable by uid 10001 (see README).
COPY scenarios /scenarios

ENV UNDERSTUDY_BIND=0.0.0.0:8080 \
    UNDERSTUDY_SCENARIOS=/scenarios
USER 10001:10001
EXPOSE 8080
VOLUME /scenarios
# Exec form: the image has no shell. It probes port 8080; when UNDERSTUDY_BIND moves the port,
# override the check (compose: `test: ["CMD", "/understudy", "health", "--url", "http://127.0.0.1:PORT"]`).
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/understudy", "health"]
ENTRYPOINT ["/understudy"]
CMD ["serve"]
