package cn.etc.esign.example;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies a Standard Webhooks signature (https://www.standardwebhooks.com/): HMAC-SHA256 over
 * {@code webhook-id + "." + webhook-timestamp + "." + raw body} with the base64 key after
 * {@code whsec_}, compared with each {@code v1,<base64>} entry of {@code webhook-signature}.
 * Verify the raw bytes before parsing; de-duplicate on {@code webhook-id}.
 */
public final class StandardWebhook {
    /** Older timestamps are refused so a captured request cannot be replayed later. */
    private static final long TOLERANCE_SECONDS = 5 * 60;

    private final byte[] key;

    public StandardWebhook(String secret) {
        this.key = Base64.getDecoder().decode(secret.startsWith("whsec_") ? secret.substring(6) : secret);
    }

    public boolean verify(String id, String timestamp, String signatureHeader, String rawBody) {
        if (id == null || timestamp == null || signatureHeader == null) return false;
        long ts;
        try {
            ts = Long.parseLong(timestamp);
        } catch (NumberFormatException e) {
            return false;
        }
        if (Math.abs(System.currentTimeMillis() / 1000 - ts) > TOLERANCE_SECONDS) return false;
        byte[] expected = sign(id + "." + timestamp + "." + rawBody);
        for (String entry : signatureHeader.split(" ")) {
            if (!entry.startsWith("v1,")) continue;
            byte[] given;
            try {
                given = Base64.getDecoder().decode(entry.substring(3));
            } catch (IllegalArgumentException e) {
                continue;
            }
            if (MessageDigest.isEqual(expected, given)) return true;
        }
        return false;
    }

    private byte[] sign(String content) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(content.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }
}
