# understudy: HTTP test double serving JSON scenario files.
#
#   docker build -t understudy .
#   docker run --rm -p 8080:8080 -v "$PWD/scenarios:/scenarios" understudy
#
# Build stage: dependencies are compiled in their own layer (an empty main against the real
# Cargo.toml and Cargo.lock), so editing src/ only rebuilds understudy itself.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && echo '' > src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src target/release/.fingerprint/understudy-*
COPY src ./src
COPY docs/scenario.schema.json ./docs/scenario.schema.json
RUN cargo build --release --locked && strip target/release/understudy

# Runtime stage: the binary, the bundled scenarios as the default, a non-root user.
FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home understudy
COPY --from=build /src/target/release/understudy /usr/local/bin/understudy
COPY scenarios /scenarios
ENV UNDERSTUDY_BIND=0.0.0.0:8080 \
    UNDERSTUDY_SCENARIOS=/scenarios
USER 10001
EXPOSE 8080
VOLUME /scenarios
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s \
    CMD ["understudy", "health", "--url", "http://127.0.0.1:8080"]
ENTRYPOINT ["understudy"]
CMD ["serve"]
