/** Answers whether host:port is one of this node's listeners or its advertised address (§16.3/§16.4). */
export type IsOwnAddress = (host: string, port: number) => boolean;
