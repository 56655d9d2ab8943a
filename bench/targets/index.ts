/** Every system under test, in the order they run and appear in the report. */
import { directTarget } from './direct.ts';
import { haproxyTarget } from './haproxy.ts';
import { nginxTarget } from './nginx.ts';
import type { Target } from './types.ts';
import { zeroproxyForwardTarget } from './zeroproxy-forward.ts';
import { zeroproxyNativeTarget } from './zeroproxy-native.ts';
import { zeroproxySdkTarget } from './zeroproxy-sdk.ts';

export const ALL_TARGETS: readonly Target[] = [directTarget, nginxTarget, haproxyTarget, zeroproxySdkTarget, zeroproxyForwardTarget, zeroproxyNativeTarget];

export { TARGET_NAMES, type Target, type TargetName, type TargetContext, type RunningTarget } from './types.ts';
