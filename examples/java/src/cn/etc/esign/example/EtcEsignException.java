package cn.etc.esign.example;

import java.util.List;

/**
 * Any answer other than success. The subclasses are the ways a caller should react; quote
 * {@link #requestId()} to the gateway's operators.
 */
public class EtcEsignException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** One bad field of a 400 answer, e.g. {@code idNumber / ID_CHECKSUM / 身份证号校验位错误}. */
    public record FieldError(String field, String code, String message) {}

    private final int status;
    private final String responseCode;
    private final String responseMsg;
    private final String requestId;

    EtcEsignException(int status, String responseCode, String responseMsg, String requestId) {
        super(status + " " + responseMsg + " (requestId " + requestId + ")");
        this.status = status;
        this.responseCode = responseCode;
        this.responseMsg = responseMsg;
        this.requestId = requestId;
    }

    public int status() { return status; }
    public String responseCode() { return responseCode; }
    public String responseMsg() { return responseMsg; }
    public String requestId() { return requestId; }

    /** 400: fix the request; {@link #errors()} names every bad field at once. */
    public static final class InvalidRequestException extends EtcEsignException {
        private static final long serialVersionUID = 1L;
        private final transient List<FieldError> errors;

        InvalidRequestException(int status, String code, String msg, String requestId, List<FieldError> errors) {
            super(status, code, msg, requestId);
            this.errors = List.copyOf(errors);
        }

        public List<FieldError> errors() { return errors; }
    }

    /** 401 (etc-token) or 403 (etc-sys-id): fix the configuration; retrying does not help. */
    public static final class AuthenticationException extends EtcEsignException {
        private static final long serialVersionUID = 1L;
        AuthenticationException(int status, String code, String msg, String requestId) { super(status, code, msg, requestId); }
    }

    /** 404: no such flow for this client. */
    public static final class NotFoundException extends EtcEsignException {
        private static final long serialVersionUID = 1L;
        NotFoundException(int status, String code, String msg, String requestId) { super(status, code, msg, requestId); }
    }

    /** 409: the same Idempotency-Key is still being processed; retry shortly with the same key. */
    public static final class ConflictException extends EtcEsignException {
        private static final long serialVersionUID = 1L;
        ConflictException(int status, String code, String msg, String requestId) { super(status, code, msg, requestId); }
    }

    /** 429: wait {@link #retryAfterSeconds()}, then retry. */
    public static final class RateLimitedException extends EtcEsignException {
        private static final long serialVersionUID = 1L;
        private final long retryAfterSeconds;

        RateLimitedException(int status, String code, String msg, String requestId, long retryAfterSeconds) {
            super(status, code, msg, requestId);
            this.retryAfterSeconds = retryAfterSeconds;
        }

        public long retryAfterSeconds() { return retryAfterSeconds; }
    }

    /** 502 (e签宝 refused), 503 (unavailable), 504 (timed out): the last two may be retried with the same key. */
    public static final class UpstreamException extends EtcEsignException {
        private static final long serialVersionUID = 1L;
        UpstreamException(int status, String code, String msg, String requestId) { super(status, code, msg, requestId); }

        public boolean retryable() { return status() != 502; }
    }

    /** 413, 415, 500 and anything unexpected. */
    public static final class ServerException extends EtcEsignException {
        private static final long serialVersionUID = 1L;
        ServerException(int status, String code, String msg, String requestId) { super(status, code, msg, requestId); }
    }
}
