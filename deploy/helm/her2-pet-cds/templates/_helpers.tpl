{{- define "her2-pet-cds.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "her2-pet-cds.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "her2-pet-cds.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; a component's objects add app.kubernetes.io/component. */}}
{{- define "her2-pet-cds.labels" -}}
helm.sh/chart: {{ include "her2-pet-cds.chart" . }}
{{ include "her2-pet-cds.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: her2-pet-cds
{{- end }}

{{- define "her2-pet-cds.selectorLabels" -}}
app.kubernetes.io/name: {{ include "her2-pet-cds.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector of the web pods only (Service, HPA target, PDB, ServiceMonitor, NetworkPolicy). */}}
{{- define "her2-pet-cds.webSelectorLabels" -}}
{{ include "her2-pet-cds.selectorLabels" . }}
app.kubernetes.io/component: web
{{- end }}

{{- define "her2-pet-cds.receiverSelectorLabels" -}}
{{ include "her2-pet-cds.selectorLabels" . }}
app.kubernetes.io/component: receiver
{{- end }}

{{- define "her2-pet-cds.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "her2-pet-cds.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "her2-pet-cds.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Checks that make a wrong combination of values fail at template time, with what to change. */}}
{{- define "her2-pet-cds.validate" -}}
{{- $shared := ne .Values.existingSecret "" }}
{{- if and (eq .Values.config.auth "jwt") (empty .Values.config.trustedClients) }}
{{- fail "config.trustedClients is empty: with config.auth=jwt every call would be refused; list the EHR's issuer (docs/deployment.md)" }}
{{- end }}
{{- if and (not $shared) (or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1)) }}
{{- fail "SQLite serves one replica only: set existingSecret with HER2CDS_DATABASE_URL (PostgreSQL) for replicaCount > 1 or autoscaling" }}
{{- end }}
{{- if and .Values.persistence.enabled (or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1)) }}
{{- fail "persistence.enabled gives the web pod a ReadWriteOnce volume, which several replicas cannot share: with existingSecret the web pods keep nothing there, leave it off" }}
{{- end }}
{{- if and .Values.sync.enabled (not $shared) }}
{{- fail "sync.enabled needs a shared database: set existingSecret with HER2CDS_DATABASE_URL (PostgreSQL)" }}
{{- end }}
{{- if and .Values.receiver.enabled (not $shared) }}
{{- fail "receiver.enabled needs a shared database: set existingSecret with HER2CDS_DATABASE_URL (PostgreSQL)" }}
{{- end }}
{{- if .Values.config.alertsConfig }}
{{- include "her2-pet-cds.validateAlerts" . }}
{{- end }}
{{- if .Values.networkPolicy.enabled }}
{{- range $who := list "ingressController" "prometheus" }}
{{- $peer := index $.Values.networkPolicy $who }}
{{- if or (empty $peer.namespaceSelector) (empty $peer.podSelector) }}
{{- fail (printf "networkPolicy.%s needs a namespaceSelector and a podSelector (an empty selector would admit every pod)" $who) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* HER2CDS_* environment shared by every container (web, migration, receiver, sync). */}}
{{- define "her2-pet-cds.secretEnv" -}}
{{- if .Values.existingSecret }}
- name: HER2CDS_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret }}
      key: HER2CDS_DATABASE_URL
- name: HER2CDS_LINK_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret }}
      key: HER2CDS_LINK_SECRET
{{- if .Values.dicomAuthFromSecret }}
- name: HER2CDS_DICOM_AUTH_FILE
  value: /etc/her2cds/secret/dicom-auth
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes and mounts of the files every service container reads. */}}
{{- define "her2-pet-cds.fileMounts" -}}
- name: tmp
  mountPath: /tmp
- name: files
  mountPath: /etc/her2cds
  readOnly: true
{{- if and .Values.existingSecret .Values.dicomAuthFromSecret }}
- name: secret
  mountPath: /etc/her2cds/secret
  readOnly: true
{{- end }}
{{- if .Values.alerts.existingSecret }}
- name: alerts-secrets
  mountPath: {{ include "her2-pet-cds.alertsSecretsDir" . }}
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "her2-pet-cds.fileVolumes" -}}
- name: tmp
  emptyDir: {}
- name: files
  configMap:
    name: {{ include "her2-pet-cds.fullname" . }}-files
{{- if and .Values.existingSecret .Values.dicomAuthFromSecret }}
- name: secret
  secret:
    secretName: {{ .Values.existingSecret }}
    items:
      - key: dicom-auth
        path: dicom-auth
{{- end }}
{{- with .Values.alerts.existingSecret }}
- name: alerts-secrets
  secret:
    secretName: {{ . }}
    # owner and group (fsGroup) may read; nobody may write
    defaultMode: 0440
    {{- with $.Values.alerts.keys }}
    items:
      {{- range . }}
      - key: {{ . }}
        path: {{ . }}
      {{- end }}
    {{- end }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Where the keys of alerts.existingSecret are mounted; config.alertsConfig names its files there. */}}
{{- define "her2-pet-cds.alertsSecretsDir" -}}
/etc/her2cds/alerts-secrets
{{- end }}

{{/* Whether an ingress path (pathType Prefix or ImplementationSpecific) routes the request path $.want. */}}
{{- define "her2-pet-cds.ingressRoutes" -}}
{{- $want := .want }}
{{- $found := false }}
{{- range .hosts }}
{{- range .paths }}
{{- $p := trimSuffix "/" .path }}
{{- if and (ne .pathType "Exact") (or (eq $p "") (eq $p $want) (hasPrefix (printf "%s/" $p) $want)) }}
{{- $found = true }}
{{- end }}
{{- end }}
{{- end }}
{{- if $found }}yes{{ end }}
{{- end }}

{{/* Refusals of an alertsConfig that could not work as deployed (docs/alerts.md, "With the Helm chart"). */}}
{{- define "her2-pet-cds.validateAlerts" -}}
{{- $alerts := .Values.config.alertsConfig }}
{{- $dir := include "her2-pet-cds.alertsSecretsDir" . }}
{{- $mounted := list }}
{{- if .Values.alerts.existingSecret }}
{{- $mounted = append $mounted $dir }}
{{- end }}
{{- range .Values.extraVolumeMounts }}
{{- $mounted = append $mounted (trimSuffix "/" .mountPath) }}
{{- end }}
{{- $files := list }}
{{- with $alerts.backend_auth }}
{{- if .private_key_file }}
{{- $files = append $files (list "backend_auth.private_key_file" .private_key_file true) }}
{{- end }}
{{- end }}
{{- with $alerts.email }}
{{- if .password_file }}
{{- $files = append $files (list "email.password_file" .password_file true) }}
{{- end }}
{{- if .ca_file }}
{{- $files = append $files (list "email.ca_file" .ca_file false) }}
{{- end }}
{{- end }}
{{- range $files }}
{{- $member := index . 0 }}
{{- $path := toString (index . 1) }}
{{- if hasPrefix (printf "%s/" $dir) $path }}
{{- if not $.Values.alerts.existingSecret }}
{{- fail (printf "config.alertsConfig.%s is %s but alerts.existingSecret is empty: name the Secret holding that file" $member $path) }}
{{- end }}
{{- $key := trimPrefix (printf "%s/" $dir) $path }}
{{- if and $.Values.alerts.keys (not (has $key $.Values.alerts.keys)) }}
{{- fail (printf "config.alertsConfig.%s is %s but alerts.keys does not list %q" $member $path $key) }}
{{- end }}
{{- else if index . 2 }}
{{- $inside := false }}
{{- range $mounted }}
{{- if hasPrefix (printf "%s/" .) $path }}
{{- $inside = true }}
{{- end }}
{{- end }}
{{- if not $inside }}
{{- fail (printf "config.alertsConfig.%s is %s, which no volume of the chart holds: put the file in alerts.existingSecret (%s/<key>) or an extraVolumeMounts path" $member $path $dir) }}
{{- end }}
{{- end }}
{{- end }}
{{- if .Values.ingress.enabled }}
{{- $routes := list (list "/alerts/worklist/x" "the worklist and evidence links of Tasks and e-mails") }}
{{- if and $alerts.subscriptions $alerts.subscriptions.enabled }}
{{- $routes = append $routes (list "/alerts/fhir-notify/x" "the FHIR server's Subscription notifications") }}
{{- end }}
{{- range $routes }}
{{- if not (include "her2-pet-cds.ingressRoutes" (dict "hosts" $.Values.ingress.hosts "want" (index . 0))) }}
{{- fail (printf "ingress.hosts routes no path to %s: add path /alerts (pathType Prefix) for %s" (dir (index . 0)) (index . 1)) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (empty .Values.networkPolicy.egress) }}
{{- fail "networkPolicy.egress is empty: the alert passes could not reach fhir_base_url, the token endpoint or the SMTP server; list them there" }}
{{- end }}
{{- end }}
