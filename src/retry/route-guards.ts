import { CircuitBreaker, type CircuitState } from "./circuit-breaker.js";
import type { Clock } from "./clock.js";
import { RetryBudget } from "./retry-budget.js";

/**
 * What each route has of its own: its circuit breaker and its retry budget. A failing route opens
 * only its own circuit and spends only its own budget; the requests of a healthy route never pay
 * for another's retries. (The throttle and overload protection are per upstream: they judge what
 * the upstream can take, whatever the route.)
 */
export interface RouteGuards {
  readonly breaker: CircuitBreaker;
  readonly budget: RetryBudget;
}

export interface RouteGuardOptions {
  readonly failureThreshold: number;
  readonly openMs: number;
  readonly budgetRatio: number;
  readonly budgetMinPerSec: number;
}

/** One set of guards per route prefix, on the injected clock. */
export function createRouteGuards(
  routes: readonly string[],
  options: RouteGuardOptions,
  clock: Clock,
  onCircuit: (route: string, state: CircuitState) => void,
): ReadonlyMap<string, RouteGuards> {
  return new Map(
    routes.map((route) => [
      route,
      {
        breaker: new CircuitBreaker(
          { failureThreshold: options.failureThreshold, openMs: options.openMs },
          clock,
          (state) => onCircuit(route, state),
        ),
        budget: new RetryBudget({ ratio: options.budgetRatio, minPerSec: options.budgetMinPerSec }, clock),
      },
    ]),
  );
}
