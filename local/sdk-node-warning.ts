/**
 * Imported first by Eddy's commands (cli/eddy.ts, examples/demo.ts), for its effect only.
 *
 * The AWS SDK for JavaScript v3 prints a 7-line `NodeVersionSupportWarning` on Node below 22 the
 * first time a client is made, into Eddy's progress line and summary. Its own switch is this
 * variable, read when a client is constructed (`emitWarningIfUnsupportedVersion` in
 * @aws-sdk/core/client); set here before any client exists, it also reaches the processes Eddy
 * forks (emulators, worker sandboxes), which inherit the environment. A value the user set is kept.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
