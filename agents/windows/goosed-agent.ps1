<#
.SYNOPSIS
goosed-agent: reports an installed Windows host to its goosed appliance (Windows PowerShell 5.1).

.DESCRIPTION
-Install -Url URL -Token TOKEN
    Run once by the unattend's FirstLogonCommands (see FirstLogonCommands.xml). Writes
    C:\ProgramData\goosed\agent.json and the installer token (readable by SYSTEM and
    Administrators only), copies this script beside them and registers the Scheduled Task
    "goosed-agent" (as SYSTEM, a minute after startup and every 15 minutes) that runs -Run.
-Run
    Enrolls with the installer token when there is no agent token yet, refreshes the agent
    token when it is due, reports facts (postinstall_done the first time, which ends the
    install run) and sends a heartbeat.

The protocol is agents/proto/agent.proto, spoken as proto3 JSON. On failure one line goes to
stderr and to C:\ProgramData\goosed\agent.log, and the exit code is 1.
This file stays ASCII: Windows PowerShell 5.1 reads a script without a BOM as ANSI.
#>
[CmdletBinding(DefaultParameterSetName = 'Run')]
param(
  [Parameter(ParameterSetName = 'Install', Mandatory = $true)][switch]$Install,
  [Parameter(ParameterSetName = 'Install', Mandatory = $true)][string]$Url,
  [Parameter(ParameterSetName = 'Install', Mandatory = $true)][string]$Token,
  [Parameter(ParameterSetName = 'Run')][switch]$Run
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$AgentVersion = '0.1.0'
$AgentDir = Join-Path $env:ProgramData 'goosed'
$ConfigFile = Join-Path $AgentDir 'agent.json'
$InstallerTokenFile = Join-Path $AgentDir 'installer-token'
$AgentTokenFile = Join-Path $AgentDir 'agent-token'
$LogFile = Join-Path $AgentDir 'agent.log'
$InstalledScript = Join-Path $AgentDir 'goosed-agent.ps1'
$TaskName = 'goosed-agent'
# Refresh the agent token after this long when the appliance never said otherwise.
$DefaultRefreshAfterSeconds = 86400
$TokenPattern = '^[A-Za-z0-9._~+/=-]+$'

# Windows PowerShell 5.1 offers TLS 1.0 only unless told otherwise.
[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

# ---------------------------------------------------------------------------------------------
# Files

function Write-Log([string]$Message) {
  try {
    if ((Test-Path $LogFile) -and (Get-Item $LogFile).Length -gt 1MB) { Remove-Item -Force $LogFile }
    Add-Content -Path $LogFile -Value ('{0} {1}' -f (Get-Date).ToString('s'), $Message) -Encoding ASCII
  } catch {
    # The log is a convenience; a full disk must not hide the real error.
  }
}

function Say([string]$Message) {
  Write-Output "goosed-agent: $Message"
  Write-Log $Message
}

# Atomic replace: a temporary file in the same directory, then a rename over the old one.
function Write-FileAtomic([string]$Path, [string]$Text) {
  $tmp = "$Path.tmp"
  [IO.File]::WriteAllText($tmp, $Text, (New-Object Text.UTF8Encoding $false))
  if (Test-Path $Path) { [IO.File]::Replace($tmp, $Path, $null) } else { [IO.File]::Move($tmp, $Path) }
}

# Only SYSTEM (S-1-5-18) and Administrators (S-1-5-32-544), inherited by every file inside.
function Protect-AgentDirectory {
  & icacls.exe $AgentDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "cannot restrict access to $AgentDir (icacls exit $LASTEXITCODE)" }
}

function Read-Token([string]$Path) {
  $value = ([IO.File]::ReadAllText($Path)).Trim()
  if ($value -notmatch $TokenPattern) { throw "$Path does not hold a token" }
  return $value
}

function Read-Config {
  if (-not (Test-Path $ConfigFile)) { throw "no configuration at $ConfigFile; run goosed-agent.ps1 -Install -Url URL -Token TOKEN" }
  $json = [IO.File]::ReadAllText($ConfigFile) | ConvertFrom-Json
  $config = [ordered]@{}
  foreach ($property in $json.PSObject.Properties) { $config[$property.Name] = $property.Value }
  if (-not $config.Contains('url') -or -not $config['url']) { throw "$ConfigFile has no url" }
  return $config
}

function Save-Config($Config) {
  Write-FileAtomic $ConfigFile ($Config | ConvertTo-Json -Depth 4)
}

function Get-UnixSeconds {
  return [int64]([DateTime]::UtcNow - (New-Object DateTime 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc))).TotalSeconds
}

# ---------------------------------------------------------------------------------------------
# HTTP

# POSTs proto3 JSON; on failure throws one line with the appliance's problem detail when it sent one.
function Invoke-Agent([string]$What, $Config, [string]$Path, [string]$Bearer, $Body) {
  $json = $Body | ConvertTo-Json -Depth 10 -Compress
  $request = @{
    Uri             = ($Config['url'].TrimEnd('/') + $Path)
    Method          = 'Post'
    # Bytes, with the charset named: given a string, 5.1 would send ISO-8859-1.
    ContentType     = 'application/json; charset=utf-8'
    Body            = [Text.Encoding]::UTF8.GetBytes($json)
    Headers         = @{ Authorization = "Bearer $Bearer" }
    UseBasicParsing = $true
    TimeoutSec      = 60
  }
  try {
    return Invoke-RestMethod @request
  } catch {
    $detail = $null
    if ($_.ErrorDetails -and $_.ErrorDetails.Message) {
      try { $detail = ($_.ErrorDetails.Message | ConvertFrom-Json).detail } catch { $detail = $null }
    }
    $status = $null
    if ($_.Exception.PSObject.Properties['Response'] -and $_.Exception.Response) { $status = [int]$_.Exception.Response.StatusCode }
    if ($detail) { throw "${What}: $detail (HTTP $status)" }
    throw "${What}: $($_.Exception.Message)"
  }
}

# A member of a reply under its .proto name or its lowerCamelCase JSON name.
function Get-Field($Reply, [string]$Name, [string]$CamelName) {
  foreach ($key in @($Name, $CamelName)) {
    if ($Reply -and $Reply.PSObject.Properties[$key]) { return $Reply.$key }
  }
  return $null
}

function Set-AgentToken($Config, $Reply) {
  $newToken = [string](Get-Field $Reply 'agent_token' 'agentToken')
  if ($newToken -notmatch $TokenPattern) { throw "the appliance's reply holds no usable agent token" }
  # The appliance forgets the old token at once: the new one goes to disk before anything else.
  Write-FileAtomic $AgentTokenFile $newToken
  $after = [int](Get-Field $Reply 'refresh_after_seconds' 'refreshAfterSeconds')
  if ($after -le 0) { $after = $DefaultRefreshAfterSeconds }
  $Config['refresh_after_seconds'] = $after
  $Config['token_issued_at'] = Get-UnixSeconds
  Save-Config $Config
}

# ---------------------------------------------------------------------------------------------
# Facts (best effort: what cannot be read is empty or zero)

function Get-Text($Value) {
  if ($null -eq $Value) { return '' }
  return ([string]$Value).Trim()
}

function Get-HostName {
  $name = Get-Text (Get-CimInstance Win32_ComputerSystem).DNSHostName
  if (-not $name) { $name = [Net.Dns]::GetHostName() }
  return $name
}

# The installation's identity, as /etc/machine-id is on Linux.
function Get-MachineId {
  return Get-Text (Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Cryptography' -Name MachineGuid).MachineGuid
}

function Get-Arch {
  # A 32-bit PowerShell on 64-bit Windows sees x86 in PROCESSOR_ARCHITECTURE.
  $arch = $env:PROCESSOR_ARCHITEW6432
  if (-not $arch) { $arch = $env:PROCESSOR_ARCHITECTURE }
  switch ($arch) {
    'AMD64' { return 'x86_64' }
    'ARM64' { return 'aarch64' }
    'x86' { return 'i686' }
    default { return (Get-Text $arch).ToLowerInvariant() }
  }
}

function Get-BootMode {
  if ($env:firmware_type) {
    if ($env:firmware_type -eq 'UEFI') { return 'uefi' }
    return 'bios'
  }
  try {
    Confirm-SecureBootUEFI | Out-Null
    return 'uefi'
  } catch [System.PlatformNotSupportedException] {
    return 'bios'
  } catch {
    # Any other answer (secure boot off, access denied) still comes from UEFI firmware.
    return 'uefi'
  }
}

# "255.255.255.0" -> 24; an IPv6 "subnet" is already a prefix length.
function Get-PrefixLength([string]$Mask) {
  if ($Mask -match '^\d+$') { return [int]$Mask }
  $bits = 0
  foreach ($octet in $Mask.Split('.')) {
    $value = [int]$octet
    while ($value -gt 0) { $bits += $value -band 1; $value = $value -shr 1 }
  }
  return $bits
}

function Get-Disks {
  $rotational = @{}
  try {
    foreach ($physical in @(Get-PhysicalDisk)) { $rotational[[string]$physical.DeviceId] = ([string]$physical.MediaType -eq 'HDD') }
  } catch {
    # Get-PhysicalDisk needs the Storage module (Windows 8 / Server 2012 and later).
  }
  $disks = New-Object System.Collections.ArrayList
  foreach ($drive in @(Get-CimInstance Win32_DiskDrive)) {
    [void]$disks.Add([ordered]@{
        name       = (Get-Text $drive.DeviceID) -replace '^\\\\\.\\', ''
        size_bytes = [string][uint64]$drive.Size
        model      = Get-Text $drive.Model
        serial     = Get-Text $drive.SerialNumber
        rotational = [bool]$rotational[[string]$drive.Index]
        type       = Get-Text $drive.MediaType
      })
  }
  return , $disks.ToArray()
}

function Get-Interfaces {
  $interfaces = New-Object System.Collections.ArrayList
  foreach ($adapter in @(Get-CimInstance Win32_NetworkAdapter -Filter 'PhysicalAdapter = TRUE')) {
    if (-not $adapter.MACAddress) { continue }
    $config = Get-CimInstance Win32_NetworkAdapterConfiguration -Filter "Index = $($adapter.Index)"
    $addresses = New-Object System.Collections.ArrayList
    $mtu = 0
    if ($config) {
      $ips = @($config.IPAddress)
      $subnets = @($config.IPSubnet)
      for ($i = 0; $i -lt $ips.Count; $i++) {
        if (-not $ips[$i]) { continue }
        if ($i -lt $subnets.Count -and $subnets[$i]) { [void]$addresses.Add("$($ips[$i])/$(Get-PrefixLength $subnets[$i])") }
        else { [void]$addresses.Add([string]$ips[$i]) }
      }
      if ($config.MTU) { $mtu = [int]$config.MTU }
    }
    # NetConnectionStatus: 2 connected, 7 media disconnected, 0 disconnected.
    $state = switch ($adapter.NetConnectionStatus) { 2 { 'up' } 7 { 'down' } 0 { 'down' } default { 'unknown' } }
    $name = Get-Text $adapter.NetConnectionID
    if (-not $name) { $name = Get-Text $adapter.Name }
    [void]$interfaces.Add([ordered]@{
        name      = $name
        mac       = (Get-Text $adapter.MACAddress).ToLowerInvariant().Replace('-', ':')
        addresses = $addresses.ToArray()
        mtu       = $mtu
        state     = $state
      })
  }
  return , $interfaces.ToArray()
}

# The Facts message; 64-bit integers as JSON strings, as the proto3 JSON mapping writes them.
function Get-Facts {
  $cs = Get-CimInstance Win32_ComputerSystem
  $os = Get-CimInstance Win32_OperatingSystem
  $cpus = @(Get-CimInstance Win32_Processor)
  $bios = Get-CimInstance Win32_BIOS
  $product = Get-CimInstance Win32_ComputerSystemProduct
  $cores = 0
  $threads = 0
  foreach ($cpu in $cpus) { $cores += [int]$cpu.NumberOfCores; $threads += [int]$cpu.NumberOfLogicalProcessors }
  $cpuModel = ''
  if ($cpus.Count -gt 0) { $cpuModel = Get-Text $cpus[0].Name }
  $uptime = [uint64]((Get-Date) - $os.LastBootUpTime).TotalSeconds
  return [ordered]@{
    hostname       = Get-HostName
    machine_id     = Get-MachineId
    os             = [ordered]@{ name = Get-Text $os.Caption; version = Get-Text $os.Version; kernel = Get-Text $os.BuildNumber; arch = Get-Arch }
    cpu            = [ordered]@{ model = $cpuModel; cores = $cores; threads = $threads }
    memory_bytes   = [string][uint64]$cs.TotalPhysicalMemory
    disks          = Get-Disks
    interfaces     = Get-Interfaces
    dmi            = [ordered]@{
      vendor       = Get-Text $cs.Manufacturer
      product      = Get-Text $cs.Model
      serial       = Get-Text $bios.SerialNumber
      uuid         = (Get-Text $product.UUID).ToLowerInvariant()
      bios_vendor  = Get-Text $bios.Manufacturer
      bios_version = Get-Text $bios.SMBIOSBIOSVersion
    }
    boot_mode      = Get-BootMode
    uptime_seconds = [string]$uptime
    agent_version  = $AgentVersion
  }
}

# ---------------------------------------------------------------------------------------------
# Commands

function Install-Agent {
  if ($Url -notmatch '^https?://\S+$') { throw '-Url must be an http:// or https:// URL' }
  if ($Token -notmatch $TokenPattern) { throw '-Token holds characters a goosed token never has' }
  New-Item -ItemType Directory -Force -Path $AgentDir | Out-Null
  Protect-AgentDirectory
  if ($PSCommandPath -and ($PSCommandPath -ne $InstalledScript)) { Copy-Item -Force -Path $PSCommandPath -Destination $InstalledScript }
  # A new install run is a new identity: forget any earlier enrollment.
  Remove-Item -Force -ErrorAction SilentlyContinue $AgentTokenFile
  Save-Config ([ordered]@{ url = $Url.TrimEnd('/') })
  Write-FileAtomic $InstallerTokenFile $Token

  $action = New-ScheduledTaskAction -Execute 'powershell.exe' `
    -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File `"$InstalledScript`" -Run"
  $atStartup = New-ScheduledTaskTrigger -AtStartup
  $atStartup.Delay = 'PT1M'
  # No -RepetitionDuration: on Windows 10 / Server 2016 and later that repeats indefinitely,
  # while [TimeSpan]::MaxValue is rejected there.
  $every15Minutes = New-ScheduledTaskTrigger -Once -At (Get-Date).AddMinutes(1) -RepetitionInterval (New-TimeSpan -Minutes 15)
  $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
  $settings = New-ScheduledTaskSettingsSet -StartWhenAvailable -MultipleInstances IgnoreNew -ExecutionTimeLimit (New-TimeSpan -Minutes 10)
  Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger @($atStartup, $every15Minutes) `
    -Principal $principal -Settings $settings -Force | Out-Null
  Say "installed; scheduled task $TaskName reports to $Url"
}

function Invoke-Enroll($Config) {
  $installerToken = Read-Token $InstallerTokenFile
  $reply = Invoke-Agent 'enroll' $Config '/v1/agents/enroll' $installerToken ([ordered]@{
      hostname      = Get-HostName
      machine_id    = Get-MachineId
      agent_version = $AgentVersion
    })
  $machine = Get-Field $reply 'machine' 'machine'
  $heartbeat = Get-Field $reply 'heartbeat_seconds' 'heartbeatSeconds'
  if ($heartbeat) { $Config['heartbeat_seconds'] = [int]$heartbeat }
  $Config['machine'] = [string]$machine
  $Config['postinstall_done'] = $false
  Set-AgentToken $Config $reply
  Remove-Item -Force $InstallerTokenFile
  Say "enrolled as machine $machine"
}

function Invoke-Refresh($Config) {
  $reply = Invoke-Agent 'refresh' $Config '/v1/agents/token/refresh' (Read-Token $AgentTokenFile) ([ordered]@{})
  Set-AgentToken $Config $reply
  Say 'agent token refreshed'
}

# Due once the token is refresh_after_seconds old, or when its age is unknown or negative.
function Test-RefreshDue($Config) {
  if (-not $Config.Contains('token_issued_at')) { return $true }
  $after = $DefaultRefreshAfterSeconds
  if ($Config.Contains('refresh_after_seconds') -and [int]$Config['refresh_after_seconds'] -gt 0) { $after = [int]$Config['refresh_after_seconds'] }
  $age = (Get-UnixSeconds) - [int64]$Config['token_issued_at']
  return ($age -lt 0 -or $age -ge $after)
}

function Invoke-Report($Config) {
  $postinstallDone = -not ($Config.Contains('postinstall_done') -and $Config['postinstall_done'])
  $reply = Invoke-Agent 'report' $Config '/v1/agents/facts' (Read-Token $AgentTokenFile) ([ordered]@{
      facts            = Get-Facts
      postinstall_done = $postinstallDone
      failed           = $false
      failure_reason   = ''
    })
  if ($postinstallDone) {
    $Config['postinstall_done'] = $true
    Save-Config $Config
  }
  Say "facts reported; run $(Get-Field $reply 'run_state' 'runState')"
}

function Invoke-Heartbeat($Config) {
  $os = Get-CimInstance Win32_OperatingSystem
  $reply = Invoke-Agent 'heartbeat' $Config '/v1/agents/heartbeat' (Read-Token $AgentTokenFile) ([ordered]@{
      uptime_seconds = [string][uint64]((Get-Date) - $os.LastBootUpTime).TotalSeconds
      agent_version  = $AgentVersion
    })
  $heartbeat = Get-Field $reply 'heartbeat_seconds' 'heartbeatSeconds'
  if ($heartbeat) {
    $Config['heartbeat_seconds'] = [int]$heartbeat
    Save-Config $Config
  }
  Say 'heartbeat sent'
}

function Invoke-AgentRun {
  $config = Read-Config
  if (-not (Test-Path $AgentTokenFile)) {
    if (-not (Test-Path $InstallerTokenFile)) { throw "not enrolled and no installer token in $AgentDir; run goosed-agent.ps1 -Install -Url URL -Token TOKEN" }
    Invoke-Enroll $config
  } elseif (Test-Path $InstallerTokenFile) {
    # Left over when an earlier enroll stopped between writing the agent token and this.
    Remove-Item -Force $InstallerTokenFile
  }
  if (Test-RefreshDue $config) { Invoke-Refresh $config }
  Invoke-Report $config
  Invoke-Heartbeat $config
}

try {
  if ($Install) { Install-Agent } else { Invoke-AgentRun }
  exit 0
} catch {
  $message = ($_.Exception.Message -replace '\s+', ' ').Trim()
  [Console]::Error.WriteLine("goosed-agent: $message")
  Write-Log "error: $message"
  exit 1
}
