package web

// Field names of the registry's objects, as forms and pages label them.
func init() {
	addMessages("en", map[string]string{
		"field.id": "Id", "field.name": "Name", "field.email": "Email", "field.phone": "Phone", "field.address": "Address",
		"field.site_id": "Site", "field.room": "Room", "field.state": "State", "field.notes": "Notes",
		"field.periods": "Membership periods", "field.membership": "Membership", "field.membership_end": "Membership ends",
		"field.member_id": "Member", "field.kind": "Kind", "field.login": "Login", "field.password": "Password",
		"field.password_set": "Password set", "field.upstream_ref": "Upstream reference", "field.cpe_id": "CPE",
		"field.port_id": "Switch port", "field.mac": "MAC address", "field.vlan": "VLAN", "field.reply_attributes": "RADIUS reply attributes",
		"field.addresses": "Addresses", "field.cidr": "Prefix", "field.purpose": "Purpose", "field.block_bits": "Block size (bits)",
		"field.description": "Description", "field.ptr_template": "Reverse name template", "field.dns_forward": "Publish forward records",
		"field.used": "Used", "field.capacity": "Capacity", "field.secret": "Shared secret", "field.secret_set": "Secret set",
		"field.message_authenticator": "Message-Authenticator", "field.strip_realm": "Strip realm", "field.coa_port": "CoA port",
		"field.role": "Role", "field.cpus": "CPUs", "field.ram_mb": "RAM (MB)", "field.disk_gb": "Disk (GB)", "field.provider": "Provider",
		"field.monthly_cost": "Monthly cost", "field.host_id": "Host (switch)", "field.model": "Model", "field.serial": "Serial number",
		"field.roles": "Roles", "field.device_password": "Device password (RADIUS)", "field.device_password_set": "Device password set",
		"field.origin": "Origin", "field.ttl": "TTL", "field.zone_id": "Zone", "field.type": "Type", "field.data": "Data",
		"field.created_at": "Created", "field.updated_at": "Updated",
		"field.group": "Group", "field.position": "Position", "field.targets": "Depends on (site:ID, host:ID, nas:ID or service:NAME)",
		"field.starts_at": "Starts", "field.ends_at": "Ends", "field.title": "Title", "field.impact": "Impact", "field.components": "Components",
		"field.message": "Message",
	})
	addMessages("fr", map[string]string{
		"field.id": "Identifiant", "field.name": "Nom", "field.email": "Courriel", "field.phone": "Téléphone", "field.address": "Adresse",
		"field.site_id": "Site", "field.room": "Chambre", "field.state": "État", "field.notes": "Notes",
		"field.periods": "Périodes d'adhésion", "field.membership": "Adhésion", "field.membership_end": "Fin d'adhésion",
		"field.member_id": "Adhérent", "field.kind": "Type", "field.login": "Identifiant de connexion", "field.password": "Mot de passe",
		"field.password_set": "Mot de passe défini", "field.upstream_ref": "Référence collecte", "field.cpe_id": "CPE",
		"field.port_id": "Port de switch", "field.mac": "Adresse MAC", "field.vlan": "VLAN", "field.reply_attributes": "Attributs de réponse RADIUS",
		"field.addresses": "Adresses", "field.cidr": "Préfixe", "field.purpose": "Usage", "field.block_bits": "Taille des blocs (bits)",
		"field.description": "Description", "field.ptr_template": "Modèle de nom inverse", "field.dns_forward": "Publier les enregistrements directs",
		"field.used": "Utilisés", "field.capacity": "Capacité", "field.secret": "Secret partagé", "field.secret_set": "Secret défini",
		"field.message_authenticator": "Message-Authenticator", "field.strip_realm": "Retirer le domaine", "field.coa_port": "Port CoA",
		"field.role": "Rôle", "field.cpus": "Processeurs", "field.ram_mb": "Mémoire (Mo)", "field.disk_gb": "Disque (Go)", "field.provider": "Hébergeur",
		"field.monthly_cost": "Coût mensuel", "field.host_id": "Machine (switch)", "field.model": "Modèle", "field.serial": "Numéro de série",
		"field.roles": "Rôles", "field.device_password": "Mot de passe équipements (RADIUS)", "field.device_password_set": "Mot de passe équipements défini",
		"field.origin": "Origine", "field.ttl": "TTL", "field.zone_id": "Zone", "field.type": "Type", "field.data": "Données",
		"field.created_at": "Créé", "field.updated_at": "Modifié",
		"field.group": "Groupe", "field.position": "Position", "field.targets": "Dépend de (site:ID, host:ID, nas:ID ou service:NOM)",
		"field.starts_at": "Début", "field.ends_at": "Fin", "field.title": "Titre", "field.impact": "Impact", "field.components": "Composants",
		"field.message": "Message",
	})
}
