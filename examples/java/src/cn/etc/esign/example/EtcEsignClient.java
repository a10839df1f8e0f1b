package cn.etc.esign.example;

import cn.etc.esign.example.EtcEsignException.AuthenticationException;
import cn.etc.esign.example.EtcEsignException.ConflictException;
import cn.etc.esign.example.EtcEsignException.FieldError;
import cn.etc.esign.example.EtcEsignException.InvalidRequestException;
import cn.etc.esign.example.EtcEsignException.NotFoundException;
import cn.etc.esign.example.EtcEsignException.RateLimitedException;
import cn.etc.esign.example.EtcEsignException.ServerException;
import cn.etc.esign.example.EtcEsignException.UpstreamException;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A small client of the etc-esign API on {@code java.net.http}. Every answer is the envelope
 * {@code { requestId, responseCode, responseMsg, data }}; errors become {@link EtcEsignException}
 * subclasses.
 */
public final class EtcEsignClient {
    /** The four fields of the face request, as strings exactly as on the ID card. */
    public record Person(String name, String idNumber, String mobile, String validPeriod) {
        String toJson() {
            return "{\"name\":" + Json.quote(name) + ",\"idNumber\":" + Json.quote(idNumber)
                + ",\"mobile\":" + Json.quote(mobile) + ",\"validPeriod\":" + Json.quote(validPeriod) + "}";
        }
    }

    /** {@code message} is {@code success} (a link to open) or {@code verified} (no link, an account id). */
    public record FaceStart(String authUrl, String originalUrl, String expire, String esignAccountId, String message, String flowId) {}

    public record Flow(String flowId, String status, String esignAccountId, String failReason, String createdAt, String expire) {}

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String baseUrl;
    private final String token;
    private final String sysId;

    public EtcEsignClient(String baseUrl, String token) {
        this(baseUrl, token, "E02");
    }

    public EtcEsignClient(String baseUrl, String token, String sysId) {
        this.baseUrl = baseUrl.replaceAll("/+$", "");
        this.token = token;
        this.sysId = sysId;
    }

    /** Pass an idempotency key (e.g. your order id) so a retry after a timeout cannot start a second billed flow. */
    public FaceStart startFace(Person person, String idempotencyKey) throws IOException, InterruptedException {
        HttpRequest.Builder req = request("/esign/api/auth/individual/face")
            .header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(person.toJson(), StandardCharsets.UTF_8));
        if (idempotencyKey != null) req.header("Idempotency-Key", idempotencyKey);
        Map<String, Object> d = send(req);
        return new FaceStart(Json.string(d, "authUrl"), Json.string(d, "originalUrl"), Json.string(d, "expire"),
            Json.string(d, "esignAccountId"), Json.string(d, "message"), Json.string(d, "flowId"));
    }

    public Flow getFlow(String flowId) throws IOException, InterruptedException {
        Map<String, Object> d = send(request("/esign/api/auth/individual/face/" + URLEncoder.encode(flowId, StandardCharsets.UTF_8)).GET());
        return new Flow(Json.string(d, "flowId"), Json.string(d, "status"), Json.string(d, "esignAccountId"),
            Json.string(d, "failReason"), Json.string(d, "createdAt"), Json.string(d, "expire"));
    }

    /** Sets where results are POSTed; answers the webhook secret the first time only, else null. */
    public String setNotifyUrl(String url) throws IOException, InterruptedException {
        Map<String, Object> d = send(request("/esign/api/notify-endpoint")
            .header("content-type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString("{\"url\":" + Json.quote(url) + "}", StandardCharsets.UTF_8)));
        return Json.string(d, "webhookSecret");
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(baseUrl + path))
            .timeout(Duration.ofSeconds(15))
            .header("etc-token", token)
            .header("etc-sys-id", sysId);
    }

    private Map<String, Object> send(HttpRequest.Builder req) throws IOException, InterruptedException {
        HttpResponse<String> res = http.send(req.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        Map<String, Object> envelope = Json.object(Json.parse(res.body()));
        Map<String, Object> data = Json.object(envelope.get("data"));
        int status = res.statusCode();
        if (status == 200) return data;
        String code = Json.string(envelope, "responseCode");
        String msg = Json.string(envelope, "responseMsg");
        String requestId = Json.string(envelope, "requestId");
        switch (status) {
            case 400 -> {
                List<FieldError> errors = new ArrayList<>();
                if (data.get("errors") instanceof List<?> list) {
                    for (Object item : list) {
                        Map<String, Object> e = Json.object(item);
                        errors.add(new FieldError(Json.string(e, "field"), Json.string(e, "code"), Json.string(e, "message")));
                    }
                }
                throw new InvalidRequestException(status, code, msg, requestId, errors);
            }
            case 401, 403 -> throw new AuthenticationException(status, code, msg, requestId);
            case 404 -> throw new NotFoundException(status, code, msg, requestId);
            case 409 -> throw new ConflictException(status, code, msg, requestId);
            case 429 -> throw new RateLimitedException(status, code, msg, requestId,
                res.headers().firstValue("retry-after").map(Long::parseLong).orElse(1L));
            case 502, 503, 504 -> throw new UpstreamException(status, code, msg, requestId);
            default -> throw new ServerException(status, code, msg, requestId);
        }
    }
}
