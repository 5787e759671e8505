/**
 * The one InfluxDB connection every service uses. websocket-ingestion once read different org and
 * bucket values from an untracked file; here every client gets the same object.
 */
import * as pulumi from "@pulumi/pulumi";

export interface InfluxDbConnection {
    /** URL inside the platform network (the `influxdb` alias). */
    readonly url: string;
    readonly org: string;
    readonly bucket: string;
    /** The admin token; a secret. */
    readonly token: pulumi.Output<string>;
}

/** The INFLUXDB_* variables of a client service. The token entry stays a secret. */
export function influxDbClientEnvironment(connection: InfluxDbConnection): Record<string, pulumi.Input<string>> {
    return {
        INFLUXDB_URL: connection.url,
        INFLUXDB_TOKEN: connection.token,
        INFLUXDB_ORG: connection.org,
        INFLUXDB_BUCKET: connection.bucket,
    };
}
