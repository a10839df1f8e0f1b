package cn.etc.esign.example;

import cn.etc.esign.example.EtcEsignClient.FaceStart;
import cn.etc.esign.example.EtcEsignClient.Flow;
import cn.etc.esign.example.EtcEsignClient.Person;
import cn.etc.esign.example.EtcEsignException.AuthenticationException;
import cn.etc.esign.example.EtcEsignException.InvalidRequestException;
import cn.etc.esign.example.EtcEsignException.NotFoundException;
import com.sun.net.httpserver.HttpServer;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * A business system's first day with etc-esign, end to end:
 * {@code ETC_GATEWAY_URL=http://localhost:8080 ETC_TOKEN=… java -cp build cn.etc.esign.example.Demo}.
 * It registers a local webhook receiver as its notify URL, shows each error class, starts a face
 * flow with an Idempotency-Key, queries it, then waits for the signed result notification,
 * verifies it and shows that a tampered copy is rejected.
 */
public final class Demo {
    /** A verified notification: the raw body and the three signature headers. */
    private record Received(String id, String timestamp, String signature, String body, Map<String, Object> event) {}

    @FunctionalInterface
    private interface Call {
        void run() throws Exception;
    }

    private static volatile String secret = "";
    private static volatile String flowId = "";

    public static void main(String[] args) throws Exception {
        String baseUrl = env("ETC_GATEWAY_URL", "http://localhost:8080");
        String token = env("ETC_TOKEN", null);
        Person person = new Person(env("ETC_DEMO_NAME", "张三"), env("ETC_DEMO_ID_NUMBER", "11010519491231002X"),
            env("ETC_DEMO_MOBILE", "13800138000"), env("ETC_DEMO_VALID_PERIOD", "2019.01.01-长期"));
        long waitSeconds = Long.parseLong(env("ETC_DEMO_WAIT_SECONDS", "300"));
        EtcEsignClient client = new EtcEsignClient(baseUrl, token);

        CompletableFuture<Received> arrived = new CompletableFuture<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(env("ETC_DEMO_WEBHOOK_PORT", "0"))), 0);
        server.createContext("/etc-esign/webhooks", exchange -> {
            String body;
            try (InputStream in = exchange.getRequestBody()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            var h = exchange.getRequestHeaders();
            Received r = new Received(h.getFirst("webhook-id"), h.getFirst("webhook-timestamp"), h.getFirst("webhook-signature"), body, Map.of());
            boolean ok = new StandardWebhook(secret).verify(r.id(), r.timestamp(), r.signature(), body);
            // 2xx only for a verified event: anything else is retried by the gateway or was never from it.
            exchange.sendResponseHeaders(ok ? 204 : 400, -1);
            exchange.close();
            if (!ok) return;
            Map<String, Object> event = Json.object(Json.parse(body));
            if (flowId.equals(event.get("flowId"))) {
                arrived.complete(new Received(r.id(), r.timestamp(), r.signature(), body, event));
            }
        });
        server.start();
        try {
            String given = client.setNotifyUrl("http://127.0.0.1:" + server.getAddress().getPort() + "/etc-esign/webhooks");
            secret = given != null ? given : env("ETC_WEBHOOK_SECRET", null);
            say("notify URL set");

            showErrorClasses(client, baseUrl, token, person);

            String key = "order-" + UUID.randomUUID();
            FaceStart started = client.startFace(person, key);
            if ("verified".equals(started.message())) {
                say("already verified: esignAccountId=" + started.esignAccountId());
                return;
            }
            flowId = started.flowId();
            say("started " + flowId);
            say("  open on a phone: " + started.authUrl());
            FaceStart retried = client.startFace(person, key);
            say("retry with the same Idempotency-Key: " + (flowId.equals(retried.flowId()) ? "same flow" : "NEW FLOW"));
            say("query " + client.getFlow(flowId).status());

            say("waiting for the result notification");
            Received r;
            try {
                r = arrived.get(waitSeconds, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw new IllegalStateException("no notification in time", e);
            }
            say("notification " + r.event().get("type") + " " + r.event().get("flowId") + ": signature verified");
            String tampered = r.body().replaceFirst("\"status\":\"[A-Z]+\"", "\"status\":\"SUCCESS\",\"esignAccountId\":\"forged\"");
            boolean accepted = new StandardWebhook(secret).verify(r.id(), r.timestamp(), r.signature(), tampered);
            say("tampered copy: " + (accepted ? "ACCEPTED" : "rejected"));
            Flow done = client.getFlow(flowId);
            say("query " + done.status() + (done.esignAccountId() != null ? " esignAccountId=" + done.esignAccountId() : ""));
        } catch (EtcEsignException e) {
            System.err.println(e.getMessage());
            // Which field, and why: e.g. a notify URL on 127.0.0.1 needs NOTIFY_ALLOW_PRIVATE_NETWORKS=true.
            if (e instanceof EtcEsignException.InvalidRequestException invalid) {
                for (EtcEsignException.FieldError f : invalid.errors()) {
                    System.err.println("  " + f.field() + ": " + f.code() + " " + f.message());
                }
            }
            System.exit(1);
        } finally {
            server.stop(0);
        }
    }

    private static void showErrorClasses(EtcEsignClient client, String baseUrl, String token, Person person) throws Exception {
        say("error classes:");
        List<Map.Entry<String, Call>> attempts = List.of(
            Map.entry("bad ID number", () -> client.startFace(
                new Person(person.name(), "110105194912310021", person.mobile(), person.validPeriod()), null)),
            Map.entry("unknown token", () -> new EtcEsignClient(baseUrl, "x".repeat(32)).getFlow("f")),
            Map.entry("wrong sys id", () -> new EtcEsignClient(baseUrl, token, "E01").getFlow("f")),
            Map.entry("unknown flow", () -> client.getFlow("no-such-flow")));
        for (Map.Entry<String, Call> attempt : attempts) {
            try {
                attempt.getValue().run();
                say("  " + attempt.getKey() + ": unexpectedly accepted");
            } catch (InvalidRequestException e) {
                say("  " + attempt.getKey() + ": " + e.getClass().getSimpleName() + " " + e.status() + " "
                    + e.errors().stream().map(f -> f.field() + ":" + f.code()).collect(Collectors.joining(",")));
            } catch (AuthenticationException | NotFoundException e) {
                say("  " + attempt.getKey() + ": " + e.getClass().getSimpleName() + " " + e.status());
            }
        }
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        if (value != null && !value.isEmpty()) return value;
        if (fallback == null) throw new IllegalStateException("set " + name);
        return fallback;
    }

    private static void say(String line) {
        System.out.println(line);
    }

}
