package web

func init() {
	addMessages("en", map[string]string{
		"roster.title":       "Roster renewal",
		"roster.question":    "%s, do you keep your title (%s)?",
		"roster.deadline":    "Please answer by %s. Without an answer, the title is removed and your SSH certificates are revoked.",
		"roster.keep":        "I keep my title",
		"roster.stepdown":    "I step down",
		"roster.kept":        "Thank you, %s: you keep your title (%s).",
		"roster.steppeddown": "%s, you stepped down: the title %s was removed, and the other admins will be told. Thank you for your work.",
		"roster.revoked":     "Your SSH certificates were revoked.",
		"roster.badlink":     "This link is unknown, was already used, or its deadline has passed.",
		"roster.badanswer":   "Choose to keep your title or to step down.",
	})
	addMessages("fr", map[string]string{
		"roster.title":       "Renouvellement des titres",
		"roster.question":    "%s, souhaitez-vous conserver votre titre (%s) ?",
		"roster.deadline":    "Merci de répondre avant le %s. Sans réponse, le titre vous est retiré et vos certificats SSH sont révoqués.",
		"roster.keep":        "Je conserve mon titre",
		"roster.stepdown":    "Je quitte mes fonctions",
		"roster.kept":        "Merci, %s : vous conservez votre titre (%s).",
		"roster.steppeddown": "%s, vous avez quitté vos fonctions : le titre %s vous a été retiré et les autres administrateurs en seront informés. Merci pour votre travail.",
		"roster.revoked":     "Vos certificats SSH ont été révoqués.",
		"roster.badlink":     "Ce lien est inconnu, a déjà servi, ou son délai est dépassé.",
		"roster.badanswer":   "Choisissez de conserver votre titre ou de quitter vos fonctions.",
	})
}
