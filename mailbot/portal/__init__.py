"""The customer portal: a small server-rendered web app over the desk's own case services (`mailbot portal`)."""
