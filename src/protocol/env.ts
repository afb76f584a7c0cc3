/** Environment variable names of go-plugin's handshake, host → driver. */
export const ENV = {
  /** App protocol versions the host speaks, comma-separated (`1,2`). */
  protocolVersions: 'PLUGIN_PROTOCOL_VERSIONS',
  /** Lowest TCP port a driver may listen on. */
  minPort: 'PLUGIN_MIN_PORT',
  /** Highest TCP port a driver may listen on. */
  maxPort: 'PLUGIN_MAX_PORT',
  /** AutoMTLS: the host's one-time client certificate, PEM. */
  clientCert: 'PLUGIN_CLIENT_CERT',
  /** Folder the driver creates its unix socket in (default: the temp dir). */
  unixSocketDir: 'PLUGIN_UNIX_SOCKET_DIR',
  /** Group (name or gid) the socket is chowned to, with mode 0660. */
  unixSocketGroup: 'PLUGIN_UNIX_SOCKET_GROUP',
  /** Set only by hosts that multiplex over yamux; driverkit hosts never set it. */
  multiplexGrpc: 'PLUGIN_MULTIPLEX_GRPC',
  /**
   * driverkit's own: the host's pid, so a driver behind a wrapper (`sh -c`, whose parent
   * outlives the host) still notices the host is gone. Other hosts do not set it.
   */
  hostPid: 'DRIVERKIT_HOST_PID',
  /**
   * driverkit's own: a file descriptor the driver inherits whose other end only the host
   * holds. The kernel closes it when the host dies, however it dies, so the driver reads
   * end-of-file at once instead of noticing on its next poll.
   */
  hostPipe: 'DRIVERKIT_HOST_PIPE',
} as const;

/** The descriptor a driverkit host passes as DRIVERKIT_HOST_PIPE: the one after stdio. */
export const HOST_PIPE_FD = 3;

/** go-plugin's Go hosts offer this port range; we send the same so drivers behave alike. */
export const DEFAULT_PORT_RANGE = { min: 10000, max: 25000 } as const;

/** What go-plugin drivers print when started without their cookie. */
export const NOT_A_PROGRAM_MESSAGE =
  'This binary is a plugin. These are not meant to be executed directly.\n' +
  'Please execute the program that consumes these plugins, which will\n' +
  'load any plugins automatically\n';
