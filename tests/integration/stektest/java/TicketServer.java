// A minimal TLS server on OpenJDK's JSSE for stek's integration tests: it listens on
// 127.0.0.1:PORT with the PKCS#12 key store given, completes handshakes (issuing JSSE's
// stateless session tickets) and answers one line. Run with `java TicketServer.java PORT
// KEYSTORE PASSWORD`; -Djdk.tls.server.statelessKeyTimeout=S sets JSSE's key rotation.
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

public final class TicketServer {
  public static void main(String[] args) throws Exception {
    char[] password = args[2].toCharArray();
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(args[1])) {
      store.load(in, password);
    }
    KeyManagerFactory keys = KeyManagerFactory.getInstance("SunX509");
    keys.init(store, password);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keys.getKeyManagers(), null, null);
    SSLServerSocket listener = (SSLServerSocket) context.getServerSocketFactory()
        .createServerSocket(Integer.parseInt(args[0]), 64, InetAddress.getByName("127.0.0.1"));
    System.out.println("listening on " + listener.getLocalPort());
    System.out.flush();
    while (true) {
      Socket accepted = listener.accept();
      Thread worker = new Thread(() -> serve((SSLSocket) accepted));
      worker.setDaemon(true);
      worker.start();
    }
  }

  private static void serve(SSLSocket socket) {
    try (socket) {
      socket.setSoTimeout(5000);
      socket.startHandshake();
      OutputStream out = socket.getOutputStream();
      out.write("ok java\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      socket.getInputStream().read();  // until the client closes or the timeout
    } catch (Exception e) {
      // A probe that hangs up early is normal for a scanner's client.
    }
  }
}
