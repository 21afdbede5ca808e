// The agent files the appliance serves unauthenticated under /agents/, embedded in the compiled binary.
import linuxAgent from "../../agents/linux/goosed-agent" with { type: "text" };
import linuxService from "../../agents/linux/goosed-agent.service" with { type: "text" };
import linuxTimer from "../../agents/linux/goosed-agent.timer" with { type: "text" };
import windowsAgent from "../../agents/windows/goosed-agent.ps1" with { type: "text" };

export interface AgentFile {
  body: string;
  contentType: string;
}

/**
 * URL path → file. The Linux installers fetch these with curl and the Windows unattend with
 * Invoke-WebRequest; text/plain keeps browsers showing rather than running them.
 * The PowerShell script is ASCII only: Windows PowerShell 5.1 reads a file without a BOM as ANSI.
 */
export const AGENT_FILES: ReadonlyMap<string, AgentFile> = new Map([
  ["/agents/linux/goosed-agent", { body: linuxAgent, contentType: "text/x-shellscript; charset=utf-8" }],
  ["/agents/linux/goosed-agent.service", { body: linuxService, contentType: "text/plain; charset=utf-8" }],
  ["/agents/linux/goosed-agent.timer", { body: linuxTimer, contentType: "text/plain; charset=utf-8" }],
  ["/agents/windows/goosed-agent.ps1", { body: windowsAgent, contentType: "text/plain; charset=utf-8" }],
]);
