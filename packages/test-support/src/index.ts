export { CHROMIUM_ARGS, chromiumPath, launchChromium } from './chromium.js';
export {
  type RedisClusterHandle,
  type RedisClusterNode,
  type StartRedisClusterOptions,
  startRedisCluster,
} from './cluster.js';
export {
  type CommandResult,
  cleanEnvironment,
  networkSettings,
  type RunOptions,
  runCommand,
  succeed,
} from './command.js';
export {
  createDurablePublisher,
  type DurablePublisher,
  type DurablePublishOptions,
  type DurablePublishResult,
  type DurablePublishScript,
  durablePublishArguments,
  durablePublishResult,
  durablePublishScript,
  publishDurably,
} from './durable-publish.js';
export {
  brokenMarkdownLinks,
  type FencedBlock,
  fencedBlocks,
  headingAnchors,
  type MarkdownLink,
  markdownFiles,
  markdownLinks,
  repositoryFiles,
} from './markdown.js';
export { freePort } from './ports.js';
export {
  type NodeProcess,
  type NodeProcessOptions,
  type ProcessExit,
  startNodeProcess,
} from './process.js';
export {
  assertRedisInstalled,
  portAcceptsConnections,
  type RedisHandle,
  type StartRedisOptions,
  startRedis,
} from './redis.js';
export { repositoryRoot, resolveFromPackage } from './resolve.js';
export {
  type ServiceProcess,
  type StartServiceOptions,
  serviceEntry,
  startService,
  TEST_SECRET,
} from './service.js';
export { type WaitForOptions, waitFor } from './wait.js';
