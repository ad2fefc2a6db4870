import java.lang.reflect.Field;
import java.net.InetAddress;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * Starts DynamoDB Local listening on 127.0.0.1 only.
 *
 * <p>DynamoDB Local 3.x has no option to choose the listen address: its
 * {@code DynamoDBProxyServer} builds a Jetty {@code Server(port)}, which listens on
 * every interface. This launcher builds the server exactly as DynamoDB Local's own
 * {@code ServerRunner} does (same command-line options), then, before starting it,
 * sets the host of each Jetty connector to the loopback address. It never configures
 * telemetry, so nothing is ever sent anywhere. If the server's internals are not what
 * this launcher expects, it exits with status 3 instead of listening on every interface.
 *
 * <p>Compiled and run by {@code scripts/dynamodb-local.sh}; usage is the same as
 * {@code java -jar DynamoDBLocal.jar}.
 */
public final class DynamoDbLocalLoopback {
    private static final String HOST = "127.0.0.1";

    private DynamoDbLocalLoopback() {}

    public static void main(String[] args) throws Exception {
        for (String arg : args) {
            if (arg.equals("-help") || arg.equals("-version")) {
                ServerRunner.main(args);
                return;
            }
        }
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Server jetty;
        try {
            Field field = DynamoDBProxyServer.class.getDeclaredField("server");
            field.setAccessible(true);
            jetty = (Server) field.get(proxy);
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("dynamodb-local: cannot bind to " + HOST + " only: " + e);
            System.exit(3);
            return;
        }
        Connector[] connectors = jetty.getConnectors();
        if (connectors.length == 0) {
            System.err.println("dynamodb-local: cannot bind to " + HOST + " only: no connectors");
            System.exit(3);
        }
        for (Connector connector : connectors) {
            if (!(connector instanceof ServerConnector)) {
                System.err.println("dynamodb-local: cannot bind to " + HOST
                        + " only: unexpected connector " + connector.getClass().getName());
                System.exit(3);
            }
            ((ServerConnector) connector).setHost(HOST);
        }
        proxy.start();
        for (Connector connector : jetty.getConnectors()) {
            ServerConnector server = (ServerConnector) connector;
            System.out.println("dynamodb-local: listening on " + server.getHost() + ":"
                    + server.getLocalPort());
            if (!InetAddress.getByName(server.getHost()).isLoopbackAddress()) {
                System.err.println("dynamodb-local: not bound to loopback, stopping");
                proxy.stop();
                System.exit(3);
            }
        }
        proxy.join();
    }
}
