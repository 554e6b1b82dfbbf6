// WireMock 3.13.2's Java client DSL against a server on localhost:PORT (argument 1), which is
// either understudy (`serve --admin-api wiremock`) or the real WireMock: the same program must
// pass on both. Each step prints `ok: STEP`; the last line is `ALL OK`. Any failure (a wrong
// answer, or the client failing to parse an admin answer: it rejects unknown fields) is an
// exception and a non-zero exit.
//
// Compile: javac -cp $WIREMOCK_JAR -d OUT WireMockDsl.java
// Run:     java -cp $WIREMOCK_JAR:OUT WireMockDsl PORT

import static com.github.tomakehurst.wiremock.client.WireMock.*;
import static com.github.tomakehurst.wiremock.common.Metadata.metadata;
import static com.github.tomakehurst.wiremock.stubbing.StubImport.stubImport;

import com.github.tomakehurst.wiremock.admin.model.ListStubMappingsResult;
import com.github.tomakehurst.wiremock.admin.model.ServeEventQuery;
import com.github.tomakehurst.wiremock.client.VerificationException;
import com.github.tomakehurst.wiremock.client.WireMock;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import com.github.tomakehurst.wiremock.stubbing.StubMapping;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import com.github.tomakehurst.wiremock.verification.NearMiss;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

public class WireMockDsl {
    static int port;
    static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static void check(boolean cond, String what) {
        if (!cond) {
            throw new AssertionError("check failed: " + what);
        }
    }

    static void step(String step) {
        System.out.println("ok: " + step);
    }

    /** One request to the mock; headers as name, value pairs. */
    static HttpResponse<String> call(String method, String path, String body, String... headers)
            throws Exception {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                        .timeout(Duration.ofSeconds(10))
                        .method(
                                method,
                                body == null
                                        ? HttpRequest.BodyPublishers.noBody()
                                        : HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static void expect(HttpResponse<String> r, int status, String body) {
        check(
                r.statusCode() == status && r.body().equals(body),
                "expected " + status + " " + body + ", got " + r.statusCode() + " " + r.body());
    }

    public static void main(String[] args) throws Exception {
        port = Integer.parseInt(args[0]);
        WireMock.configureFor("localhost", port);
        reset();
        step("reset");

        // A stub with headers, a JSON body and a priority, and a fallback below it.
        StubMapping greet =
                stubFor(
                        post(urlPathEqualTo("/greet"))
                                .atPriority(1)
                                .withName("greet ada")
                                .withHeader("X-Client", equalTo("dsl"))
                                .withRequestBody(equalToJson("{\"name\": \"ada\"}"))
                                .willReturn(
                                        okJson("{\"hello\":\"ada\"}")
                                                .withHeader("X-Served", "stub")));
        StubMapping fallback =
                stubFor(
                        post(urlPathEqualTo("/greet"))
                                .atPriority(5)
                                .willReturn(aResponse().withStatus(418).withBody("fallback")));
        check(greet.getId() != null && !greet.getId().equals(fallback.getId()), "stub ids");
        check(greet.getPriority() == 1, "priority echoed");
        step("stubFor");

        HttpResponse<String> r =
                call("POST", "/greet", "{\"name\":\"ada\"}", "X-Client", "dsl",
                        "Content-Type", "application/json");
        expect(r, 200, "{\"hello\":\"ada\"}");
        check(r.headers().firstValue("X-Served").orElse("").equals("stub"), "X-Served header");
        check(
                r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"),
                "okJson Content-Type");
        expect(call("POST", "/greet", "{\"name\":\"bob\"}", "X-Client", "dsl"), 418, "fallback");
        expect(call("POST", "/greet", "{\"name\":\"ada\"}"), 418, "fallback");
        step("call stubs");

        verify(postRequestedFor(urlPathEqualTo("/greet")).withHeader("X-Client", equalTo("dsl")));
        verify(3, postRequestedFor(urlPathEqualTo("/greet")));
        verify(1, postRequestedFor(urlPathEqualTo("/greet"))
                .withRequestBody(equalToJson("{\"name\":\"bob\"}")));
        verify(0, getRequestedFor(urlEqualTo("/greet")));
        step("verify");

        try {
            verify(getRequestedFor(urlEqualTo("/never")).withHeader("X-Client", equalTo("dsl")));
            throw new AssertionError("verify of a request never made passed");
        } catch (VerificationException e) {
            String msg = e.getMessage();
            check(msg.contains("/never"), "verification message names the request: " + msg);
            check(msg.contains("/greet"), "verification message shows what came: " + msg);
            System.out.println("verification message: " + msg.replace("\n", "\\n"));
        }
        try {
            verify(2, postRequestedFor(urlPathEqualTo("/greet")));
            throw new AssertionError("verify with a wrong count passed");
        } catch (VerificationException e) {
            check(e.getMessage().contains("2") && e.getMessage().contains("3"),
                    "count message: " + e.getMessage());
        }
        step("verify fails as VerificationException");

        List<LoggedRequest> found = findAll(postRequestedFor(urlPathEqualTo("/greet")));
        check(found.size() == 3, "findAll size " + found.size());
        check(found.stream().anyMatch(q -> q.getBodyAsString().contains("bob")), "findAll bodies");
        check(found.stream().allMatch(q -> q.getUrl().equals("/greet")), "findAll urls");
        check(found.stream().filter(q -> "dsl".equals(q.getHeader("X-Client"))).count() == 2,
                "findAll headers");
        step("findAll");

        List<ServeEvent> events = getAllServeEvents();
        check(events.size() == 3, "serve events " + events.size());
        check(events.stream().allMatch(e -> e.getWasMatched()), "all matched");
        check(events.stream().anyMatch(e -> greet.getId().equals(e.getStubMapping().getId())),
                "a serve event names the greet stub");
        check(events.stream().anyMatch(e -> e.getResponse().getStatus() == 418),
                "serve event response status");
        List<ServeEvent> forFallback = getAllServeEvents(ServeEventQuery.forStubMapping(fallback));
        check(forFallback.size() == 2
                && forFallback.stream().allMatch(e -> e.getResponse().getStatus() == 418),
                "serve events for one stub " + forFallback.size());
        step("getAllServeEvents");

        expect(call("GET", "/nothing-here", null), 404,
                call("GET", "/nothing-here", null).body());
        List<LoggedRequest> unmatched = findUnmatchedRequests();
        check(unmatched.size() == 2 && unmatched.get(0).getUrl().equals("/nothing-here"),
                "unmatched " + unmatched.size());
        List<NearMiss> misses = findNearMissesForAllUnmatched();
        check(misses != null, "near misses for unmatched");
        System.out.println("near misses for unmatched: " + misses.size());
        for (NearMiss m : misses) {
            System.out.println("  " + m.getRequest().getUrl() + " ~ "
                    + (m.getStubMapping() == null ? "-" : m.getStubMapping().getRequest().getUrlPath())
                    + " distance " + m.getMatchResult().getDistance());
        }
        step("findUnmatchedRequests, findNearMissesForAllUnmatched");

        // A scenario: empty, then one item after a POST.
        stubFor(get("/todo").inScenario("todo").whenScenarioStateIs(Scenario.STARTED)
                .willReturn(ok("empty")));
        stubFor(post("/todo").inScenario("todo").whenScenarioStateIs(Scenario.STARTED)
                .willSetStateTo("added").willReturn(aResponse().withStatus(201)));
        stubFor(get("/todo").inScenario("todo").whenScenarioStateIs("added")
                .willReturn(ok("one item")));
        expect(call("GET", "/todo", null), 200, "empty");
        expect(call("POST", "/todo", "buy milk"), 201, "");
        expect(call("GET", "/todo", null), 200, "one item");
        List<Scenario> scenarios = getAllScenarios();
        Scenario todo = scenarios.stream().filter(s -> s.getName().equals("todo")).findFirst()
                .orElseThrow(() -> new AssertionError("no todo scenario in " + scenarios));
        check(todo.getState().equals("added"), "scenario state " + todo.getState());
        check(todo.getPossibleStates().contains("added")
                && todo.getPossibleStates().contains(Scenario.STARTED), "possible states");
        resetAllScenarios();
        expect(call("GET", "/todo", null), 200, "empty");
        setScenarioState("todo", "added");
        expect(call("GET", "/todo", null), 200, "one item");
        step("scenarios");

        // Metadata, import, journal removal, settings.
        stubFor(get("/meta/a").withMetadata(metadata().attr("suite", "dsl").attr("n", 1))
                .willReturn(ok("a")));
        stubFor(get("/meta/b").withMetadata(metadata().attr("suite", "other"))
                .willReturn(ok("b")));
        List<StubMapping> bySuite = findStubsByMetadata(matchingJsonPath("$.suite", equalTo("dsl")));
        check(bySuite.size() == 1 && bySuite.get(0).getRequest().getUrl().equals("/meta/a"),
                "findStubsByMetadata " + bySuite.size());
        expect(call("GET", "/meta/a", null), 200, "a");
        expect(call("GET", "/meta/b", null), 200, "b");
        List<ServeEvent> removedByMeta =
                removeEventsByStubMetadata(matchingJsonPath("$.suite", equalTo("dsl")));
        check(removedByMeta.size() == 1, "removeEventsByStubMetadata " + removedByMeta.size());
        List<ServeEvent> removedB = removeServeEvents(getRequestedFor(urlEqualTo("/meta/b")));
        check(removedB.size() == 1, "removeServeEvents " + removedB.size());
        check(findAll(getRequestedFor(urlPathMatching("/meta/.*"))).isEmpty(), "meta events gone");
        removeStubsByMetadata(matchingJsonPath("$.suite", equalTo("other")));
        expect(call("GET", "/meta/a", null), 200, "a");
        check(call("GET", "/meta/b", null).statusCode() == 404, "stub removed by metadata");
        importStubs(stubImport()
                .stub(get("/imported/one").willReturn(ok("one")))
                .stub(get("/imported/two").willReturn(ok("two")))
                .ignoreExisting());
        expect(call("GET", "/imported/one", null), 200, "one");
        expect(call("GET", "/imported/two", null), 200, "two");
        List<ServeEvent> unmatchedEvents =
                getAllServeEvents(ServeEventQuery.ALL_UNMATCHED);
        check(unmatchedEvents.stream().allMatch(e -> !e.getWasMatched())
                && unmatchedEvents.size() == 3, "unmatched serve events " + unmatchedEvents.size());
        List<NearMiss> forOne = findNearMissesFor(unmatchedEvents.get(0).getRequest());
        check(forOne != null, "near misses for one request");
        setGlobalFixedDelay(0);
        check(getSettings().getFixedDelay() == 0, "settings fixed delay");
        step("metadata, import, removeServeEvents, settings");

        removeStubsByMetadata(matchingJsonPath("$.suite", equalTo("dsl")));
        removeStub(get(urlEqualTo("/imported/one")));
        removeStub(get(urlEqualTo("/imported/two")));
        ListStubMappingsResult all = listAllStubMappings();
        check(all.getMappings().size() == 5, "stubs listed " + all.getMappings().size());
        StubMapping single = getSingleStubMapping(greet.getId());
        check(single.getId().equals(greet.getId()), "single id");
        check(single.getName().equals("greet ada"), "single name");
        check(single.getPriority() == 1, "single priority");
        check(single.getRequest().getUrlPath().equals("/greet"), "single url");
        step("listAllStubMappings, getSingleStubMapping");

        editStub(post(urlPathEqualTo("/greet")).withId(greet.getId()).atPriority(1)
                .willReturn(ok("edited")));
        expect(call("POST", "/greet", "anything"), 200, "edited");
        check(getSingleStubMapping(greet.getId()).getResponse().getBody().equals("edited"),
                "edited stub read back");
        step("editStub");

        removeStub(greet);
        expect(call("POST", "/greet", "anything"), 418, "fallback");
        check(listAllStubMappings().getMappings().size() == 4, "one stub fewer");
        step("removeStub");

        resetAllRequests();
        check(findAll(anyRequestedFor(anyUrl())).isEmpty(), "journal empty after resetAllRequests");
        reset();
        check(listAllStubMappings().getMappings().isEmpty(), "no stubs after reset");
        check(getAllServeEvents().isEmpty(), "no serve events after reset");
        step("reset");

        System.out.println("ALL OK");
    }
}
