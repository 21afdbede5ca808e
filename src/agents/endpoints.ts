// The agent protocol's HTTP paths, shared by the appliance's routes and the tests that drive the agents.

/** POST endpoints; each takes and returns the messages named beside it (agents/proto/agent.proto). */
export const AgentEndpoint = {
  /** EnrollRequest → EnrollResponse; bearer: the installer token of the install run. */
  Enroll: "/v1/agents/enroll",
  /** FactsRequest → FactsResponse; bearer: the agent token. */
  Facts: "/v1/agents/facts",
  /** HeartbeatRequest → HeartbeatResponse; bearer: the agent token. */
  Heartbeat: "/v1/agents/heartbeat",
  /** TokenRefreshRequest → TokenRefreshResponse; bearer: the agent token, which stops working at once. */
  TokenRefresh: "/v1/agents/token/refresh",
} as const;

export type AgentEndpoint = (typeof AgentEndpoint)[keyof typeof AgentEndpoint];
