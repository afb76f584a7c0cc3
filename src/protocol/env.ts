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
  /**
   * driverkit's own: a random value per spawn that the host sends on every call (in
   * HOST_SECRET_HEADER), so the driver knows the host's connections from anyone else's and
   * never turns them away for a newcomer.
   */
  hostSecret: 'DRIVERKIT_HOST_SECRET',
} as const;

/** The call header that carries ENV.hostSecret; the driver's handlers never see it. */
export const HOST_SECRET_HEADER = 'driverkit-host-secret';

/** The descriptor a driverkit host passes as DRIVERKIT_HOST_PIPE: the one after stdio. */
export const HOST_PIPE_FD = 3;

/** go-plugin's Go hosts offer this port range; we send the same so drivers behave alike. */
export const DEFAULT_PORT_RANGE = { min: 10000, max: 25000 } as const;

/** What go-plugin drivers print when started without their cookie. */
export const NOT_A_PROGRAM_MESSAGE =
  'This binary is a plugin. These are not meant to be executed directly.\n' +
  'Please execute the program that consumes these plugins, which will\n' +
  'load any plugins automatically\n';
