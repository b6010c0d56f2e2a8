package ca.halo.server.subscription;

/**
 * One open websocket as the subscription engine sees it, free of any websocket library type.
 * Implementations are thread-safe.
 */
public interface WebSocketSink {
  /** Sends a text frame; returns false if the socket is gone. */
  boolean send(String text);

  void close(int code, String reason);

  /** The socket was bound to a subscription: it may now stay open longer than an unbound one. */
  default void bound() {}
}
